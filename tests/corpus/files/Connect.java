package com.acme.shop;

import com.amazonaws.auth.BasicAWSCredentials;
import java.net.PasswordAuthentication;
import java.sql.DriverManager;

public class Connect {
    static java.sql.Connection db() throws Exception {
        return DriverManager.getConnection("jdbc:postgresql://db.internal/shop", "shop_app", "dZeR9k=8uTzk");
    }
    static BasicAWSCredentials aws() {
        return new BasicAWSCredentials("AKIAXB2RT2U2VGLTBILG", "4O/kVhacbqLV/NQSgTUKEnJoTQdYknF+AeoBvuej");
    }
    static PasswordAuthentication proxy() {
        return new PasswordAuthentication("proxyuser", "MHn01~~Vdg~D".toCharArray());
    }
    static java.sql.Connection fromEnv() throws Exception {
        return DriverManager.getConnection(System.getenv("DB_URL"), System.getenv("DB_USER"), System.getenv("DB_PASSWORD"));
    }
}

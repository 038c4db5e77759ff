/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * One test per built-in rule: values it must find (and exactly which bytes
 * it reports, since redaction replaces those), and the look-alikes it must
 * leave alone.  All secrets here are random strings of the right shape.
 */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"
#include "scan/llm_scan.h"
#include "scan/scan_private.h"

static apr_pool_t *pool;
static llm_scan_rules_t *rules;

static apr_array_header_t *scan(const char *text)
{
    apr_array_header_t *out = apr_array_make(pool, 8, sizeof(llm_scan_match_t));
    int n = llm_scan_text(rules, text, strlen(text), pool, out);
    ck_assert_int_ge(n, 0);
    ck_assert_int_eq(n, out->nelts);
    return out;
}

static char *describe(const char *text, apr_array_header_t *out)
{
    static char buf[2048];
    size_t o = 0;
    int i;

    buf[0] = '\0';
    for (i = 0; i < out->nelts && o < sizeof(buf) - 200; i++) {
        llm_scan_match_t *m = &APR_ARRAY_IDX(out, i, llm_scan_match_t);
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, " [%s %s '%.*s']",
                              m->type, m->rule,
                              (int)(m->length > 80 ? 80 : m->length),
                              text + m->offset);
    }
    return buf;
}

/* text must yield a finding of rule whose value is exactly value */
static void has(const char *text, const char *rule, const char *value)
{
    apr_array_header_t *out = scan(text);
    size_t vl = strlen(value);
    int i;

    for (i = 0; i < out->nelts; i++) {
        llm_scan_match_t *m = &APR_ARRAY_IDX(out, i, llm_scan_match_t);
        if (!strcmp(m->rule, rule) && m->length == vl
            && !memcmp(text + m->offset, value, vl)) {
            return;
        }
    }
    ck_abort_msg("no %s '%s' in '%s'; got:%s", rule, value, text,
                 describe(text, out));
}

/* text must yield no finding of type (any finding when type is NULL) */
static void none(const char *text, const char *type)
{
    apr_array_header_t *out = scan(text);
    int i;

    for (i = 0; i < out->nelts; i++) {
        llm_scan_match_t *m = &APR_ARRAY_IDX(out, i, llm_scan_match_t);
        if (!type || !strcmp(m->type, type)) {
            ck_abort_msg("unexpected finding in '%s':%s", text,
                         describe(text, out));
        }
    }
}

START_TEST(aws_access_key_id)
{
    has("aws_access_key_id = AKIAZ3MJQW7XK4RTLP2B\n", "aws-access-key-id",
        "AKIAZ3MJQW7XK4RTLP2B");
    has("\"AccessKeyId\": \"ASIAY34FZKBOKMUTVV7A\"", "aws-access-key-id",
        "ASIAY34FZKBOKMUTVV7A");
    none("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", NULL);
    none("id XAKIAZ3MJQW7XK4RTLP2B and AKIAZ3MJQW7XK4RTLP2 short", NULL);
    none("AKIAZ3MJQW7XK4RTLP2BQ is too long", NULL);
}
END_TEST

START_TEST(aws_secret_access_key)
{
    has("aws_secret_access_key = 9dJkL2mN4pQ7rS1tU8vW3xY6zA0bC5dE7fG9hI2j",
        "aws-secret-access-key", "9dJkL2mN4pQ7rS1tU8vW3xY6zA0bC5dE7fG9hI2j");
    has("export AWS_SECRET_ACCESS_KEY=\"tKZODgUxf+KspWsUQTqqbOxeOn4Isla3a1yuZTIB\"",
        "aws-secret-access-key", "tKZODgUxf+KspWsUQTqqbOxeOn4Isla3a1yuZTIB");
    none("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL);
    none("aws_secret_access_key = os.environ['AWS_SECRET_ACCESS_KEY']", NULL);
    none("aws_secret_access_key = ${AWS_SECRET}", NULL);
}
END_TEST

START_TEST(github_tokens)
{
    has("token: ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d", "github-pat-classic",
        "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d");
    has("git clone https://gho_KLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFR@github.com/a/b",
        "github-oauth-token", "gho_KLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFR");
    has("GH=ghs_IBXuDL7DxtpYlSXpfKtHF4vUCsMehGAkWvj7", "github-app-token",
        "ghs_IBXuDL7DxtpYlSXpfKtHF4vUCsMehGAkWvj7");
    has("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",
        "github-pat-fine-grained",
        "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");
    none("ghp_ is the prefix of classic tokens; ghp_short123", NULL);
    none("ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL);
}
END_TEST

START_TEST(gitlab_token)
{
    has("PRIVATE-TOKEN: glpat-WDtkwtDDb_xHKas1VOqg", "gitlab-token",
        "glpat-WDtkwtDDb_xHKas1VOqg");
    none("tokens look like glpat-<20 chars>", NULL);
}
END_TEST

START_TEST(slack)
{
    has("SLACK_BOT_TOKEN=xoxb-78666617603-137215901092-Ig8xNbe3nNyjOq9wMxEhh2FD",
        "slack-token", "xoxb-78666617603-137215901092-Ig8xNbe3nNyjOq9wMxEhh2FD");
    has("xoxp-77412154728-03852808414-852538885393-7c76fb008f86bebb2737f6a6f0fb23c6",
        "slack-token",
        "xoxp-77412154728-03852808414-852538885393-7c76fb008f86bebb2737f6a6f0fb23c6");
    has("url = \"https://hooks.slack.com/services/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\"",
        "slack-webhook", "hooks.slack.com/services/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");
    none("xoxb-your-token-here", NULL);
    none("see https://hooks.slack.com/services/ for webhooks", NULL);
}
END_TEST

START_TEST(stripe)
{
    has("stripe.api_key = 'sk_live_03nbqnsGpWLuqIA1id6Vw5DQ'", "stripe-live-key",
        "sk_live_03nbqnsGpWLuqIA1id6Vw5DQ");
    has("rk_live_L05HA064GiIjHGb3CXlMaXZj", "stripe-live-key",
        "rk_live_L05HA064GiIjHGb3CXlMaXZj");
    /* test-mode secret keys read and write the account's test data */
    has("STRIPE_KEY=sk_test_ljENUhJduRHHJEYXg4Jdpmrc", "stripe-test-key",
        "sk_test_ljENUhJduRHHJEYXg4Jdpmrc");
    has("key: sk_test_51Pq2WxLmN8vB3kRt7YhZs0aJcDe4FgHiK9oUyT1rE5wQ6pLmN2bV7cX3zA8sD4fG00XyZ",
        "stripe-test-key",
        "sk_test_51Pq2WxLmN8vB3kRt7YhZs0aJcDe4FgHiK9oUyT1rE5wQ6pLmN2bV7cX3zA8sD4fG00XyZ");
    has("rk_test_51Pq2WxLmN8vB3kRt7YhZs0aJcDe4FgHiK9oUyT1rE5", "stripe-test-key",
        "rk_test_51Pq2WxLmN8vB3kRt7YhZs0aJcDe4FgHiK9oUyT1rE5");
    /* the key in Stripe's documentation, placeholders, publishable keys */
    none("Stripe.api_key = 'sk_test_4eC39HqLyjWDarjtT1zdp7dc'", NULL);
    none("STRIPE_KEY=sk_test_XXXXXXXXXXXXXXXXXXXXXXXX", NULL);
    none("pk_live_03nbqnsGpWLuqIA1id6Vw5DQ is publishable", "STRIPE_KEY");
    none("pk_test_51Pq2WxLmN8vB3kRt7YhZs0aJcDe4FgHiK9oUyT1rE5", "STRIPE_KEY");
}
END_TEST

START_TEST(openai)
{
    has("OPENAI_API_KEY=sk-proj-m5di4PzJ59FHz5r1pY4OjE2jBMptUsGr7CmY_uCu3ZR1zTOl",
        "openai-project-key", "sk-proj-m5di4PzJ59FHz5r1pY4OjE2jBMptUsGr7CmY_uCu3ZR1zTOl");
    has("key 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", "openai-key",
        "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");
    none("pip install scikit-learn; task-runner; sk-learn", NULL);
    none("OPENAI_API_KEY=sk-...", NULL);
}
END_TEST

START_TEST(anthropic)
{
    has("ANTHROPIC_API_KEY=sk-ant-api03-HZt-PlJhx2jIclHkCiHp6bR1IqfEouHgxzNNAL5wIScGebcy8F5n3-YNBDRzrZSgqbjG3uhkWKFLf6xuI5aHUQPFeNBTxAA",
        "anthropic-key",
        "sk-ant-api03-HZt-PlJhx2jIclHkCiHp6bR1IqfEouHgxzNNAL5wIScGebcy8F5n3-YNBDRzrZSgqbjG3uhkWKFLf6xuI5aHUQPFeNBTxAA");
    none("keys start with sk-ant-api03-", NULL);
}
END_TEST

START_TEST(google_api_key)
{
    has("const KEY = \"AIzaaQWk8JzFalHlsZfYcMMDktXP-tKsf2rcDkd\";", "google-api-key",
        "AIzaaQWk8JzFalHlsZfYcMMDktXP-tKsf2rcDkd");
    none("AIzaaQWk8JzFalHlsZfYc too short", NULL);
}
END_TEST

START_TEST(vendor_generic)
{
    has("//registry.npmjs.org/:_authToken=npm_ciOx9gy1CJdObOIRpFqaDZeV7G5IfQHeVVEq",
        "npm-token", "npm_ciOx9gy1CJdObOIRpFqaDZeV7G5IfQHeVVEq");
    has("password = pypi-AgEIcHlwaS5vcmcjHEAD6-Wj9KfzjsQGMrb9h_ImB_LK777pzNk8cL6j5IXAAjlsHUqJoUD-_Yd",
        "pypi-token",
        "pypi-AgEIcHlwaS5vcmcjHEAD6-Wj9KfzjsQGMrb9h_ImB_LK777pzNk8cL6j5IXAAjlsHUqJoUD-_Yd");
    has("SENDGRID=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",
        "sendgrid-api-key", "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");
    has("api key SK9fc35526f7eaed46725a2a7b860dcd6c", "twilio-api-key",
        "SK9fc35526f7eaed46725a2a7b860dcd6c");
    /* account SIDs are public identifiers; the auth token is the secret */
    none("twilio sid AC8a1f8b46287cced9041dff02cee73744", NULL);
    none("hash AC8a1f8b46287cced9041dff02cee73744", NULL);
    has("client = Client(\"AC8a1f8b46287cced9041dff02cee73744\", \"3e210471948d33296c87009e8a7f770d\")  # twilio",
        "vendor-hex-key", "3e210471948d33296c87009e8a7f770d");
    has("TWILIO_AUTH_TOKEN=3e210471948d33296c87009e8a7f770d", "twilio-auth-token",
        "3e210471948d33296c87009e8a7f770d");
    has("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=tKZODgUxf+KspWsUQTqqbOxeOn4Isla3a1yuZTIBzEq92IERNH74M0/E0TE7dzhDwuNLG/Offpwv5Tl8aumqDg==;EndpointSuffix=core.windows.net",
        "azure-storage-key",
        "tKZODgUxf+KspWsUQTqqbOxeOn4Isla3a1yuZTIBzEq92IERNH74M0/E0TE7dzhDwuNLG/Offpwv5Tl8aumqDg==");
    has("AZURE_CLIENT_SECRET=8Mj8Q~YgBds1ghxY5OokvQyx7eNWVQ4vnakJkS1p",
        "azure-client-secret", "8Mj8Q~YgBds1ghxY5OokvQyx7eNWVQ4vnakJkS1p");
    has("\"private_key_id\": \"c1c1e21862ab8a18a8902073fec8df4f50947aae\",",
        "gcp-service-account-key-id", "c1c1e21862ab8a18a8902073fec8df4f50947aae");
    has("HF_TOKEN=hf_J9WnywX0t0ZBfdTEmxI6CmuxV5EbOApZOX", "huggingface-token",
        "hf_J9WnywX0t0ZBfdTEmxI6CmuxV5EbOApZOX");
    /* letters only, as most are; and longer ones */
    has("login --token hf_QmWzKpLrTyXnBvCsDfGhJkLzXcVbNmAsDfGh", "huggingface-token",
        "hf_QmWzKpLrTyXnBvCsDfGhJkLzXcVbNmAsDfGh");
    has("hf_QmWzKpLrTyXnBvCsDfGhJkLzXcVbNmAsDfGhRtYu", "huggingface-token",
        "hf_QmWzKpLrTyXnBvCsDfGhJkLzXcVbNmAsDfGhRtYu");
    none("pip install huggingface_hub[hf_transfer]; hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL);
    none("def hf_download_and_cache_the_model_weights(): pass", NULL);
}
END_TEST

START_TEST(private_keys)
{
    const char *rsa = "-----BEGIN RSA PRIVATE KEY-----\n"
        "MIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi6YUeVgTJ0B3ZbMpnXoY0k+Q8h\n"
        "-----END RSA PRIVATE KEY-----";
    const char *ossh = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
        "-----END OPENSSH PRIVATE KEY-----\n";
    const char *ossh_enc = "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABD3\n"
        "-----END OPENSSH PRIVATE KEY-----\n";
    char buf[1024];

    snprintf(buf, sizeof(buf), "key:\n%s\nend", rsa);
    has(buf, "private-key-rsa", rsa);
    has(ossh, "private-key-openssh",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
        "-----END OPENSSH PRIVATE KEY-----");
    has("\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n\"",
        "private-key-pkcs8",
        "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----");
    has("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg3Xq9Lw2Pz8mN4vR7tY1uC5oA6sD0fG\n-----END EC PRIVATE KEY-----",
        "private-key-ec",
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg3Xq9Lw2Pz8mN4vR7tY1uC5oA6sD0fG\n-----END EC PRIVATE KEY-----");
    has("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF3xk2sBCADH8Lq0Zm9wT4rV\n-----END PGP PRIVATE KEY BLOCK-----",
        "private-key-pgp",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF3xk2sBCADH8Lq0Zm9wT4rV\n-----END PGP PRIVATE KEY BLOCK-----");
    /* cut off by a tool's line limit: still a finding */
    has("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA3Tz2mr7SZiAMfQ", "private-key-rsa",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA3Tz2mr7SZiAMfQ");
    /* encrypted keys are private keys too */
    has(ossh_enc, "private-key-encrypted",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABD3\n"
        "-----END OPENSSH PRIVATE KEY-----");
    has("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG\n-----END ENCRYPTED PRIVATE KEY-----",
        "private-key-encrypted",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG\n-----END ENCRYPTED PRIVATE KEY-----");
    has("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,AB12\n\nMIIEpQIBAAKCAQEAx9Lm2Qw\n-----END RSA PRIVATE KEY-----",
        "private-key-encrypted",
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,AB12\n\nMIIEpQIBAAKCAQEAx9Lm2Qw\n-----END RSA PRIVATE KEY-----");
    /* ... but a block with no key material is documentation */
    none("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,AB12\n\nMIIE\n-----END RSA PRIVATE KEY-----", NULL);
    /* base64 of a PEM private key (kubeconfig client-key-data) */
    has("    client-key-data: LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUJrZzNYcTlMdzJQejhtTjR2UjcKLS0tLS1FTkQgRUMgUFJJVkFURSBLRVktLS0tLQo=\n",
        "private-key-base64",
        "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUJrZzNYcTlMdzJQejhtTjR2UjcKLS0tLS1FTkQgRUMgUFJJVkFURSBLRVktLS0tLQo=");
    /* wrapped at 64 as base64(1) does with -w 64 */
    has("KEY_B64=LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUJrZzNY\ncTlMdzJQejhtTjR2UjcKLS0tLS1FTkQgRUMgUFJJVkFURSBLRVktLS0tLQo=\nNEXT=1",
        "private-key-base64",
        "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUJrZzNY\ncTlMdzJQejhtTjR2UjcKLS0tLS1FTkQgRUMgUFJJVkFURSBLRVktLS0tLQo=");
    /* base64 of a certificate is public material */
    none("client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSURkekNDQWwrZ0F3SUJBZ0lFQWdBQXVUQU5CZ2txaGtpRzl3MEJBUVVGQURCYQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==", NULL);
    none("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----", NULL);
    none("-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa\n-----END CERTIFICATE-----", NULL);
}
END_TEST

START_TEST(jwt)
{
    const char *tok = "eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAidS04MjMxIiwgImlhdCI6IDE3MTcwMDAwMDAsICJyb2xlIjogImFkbWluIn0.PiYGFDm7ena8D5VfLDpgyyjVw5HanSBeVRsfAGeAbP0";
    char buf[512];

    snprintf(buf, sizeof(buf), "Authorization: Bearer %s", tok);
    has(buf, "jwt", tok);
    /* no "alg" in the header: not a JWT */
    none("x eyJ0eXAiOiAieCIsICJmb28iOiAiYmFyIn0.eyJzdWIiOiAidS04MjMxIiwgImlhdCI6IDE3MTcwMDAwMDAsICJyb2xlIjogImFkbWluIn0.VxNjAe-9i0mYtluYI0KN1gNT11cUzYZAa3u2olZU6uq", "JWT");
    /* jwt.io's sample */
    none("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", NULL);
}
END_TEST

START_TEST(connection_string_password)
{
    has("DATABASE_URL=postgres://app:S3cr3tPw@db.prod.internal:5432/app",
        "connection-string-password", "S3cr3tPw");
    has("mongodb+srv://admin:Zq7rT2mW9x@cluster0.ab1cd.mongodb.net/test",
        "connection-string-password", "Zq7rT2mW9x");
    has("REDIS_URL=redis://:hx8Pq2Lm@cache:6379/0", "connection-string-password",
        "hx8Pq2Lm");
    has("mysql://root:Tr0ub4dor3@127.0.0.1/shop", "connection-string-password",
        "Tr0ub4dor3");
    none("postgres://user:password@localhost/db", NULL);
    none("username, have_password, password = userinfo.partition(':')", NULL);
    none("user, password = HTTPPasswordMgr.find_user_password(self, realm,", NULL);
    none("postgres://app:${DB_PASS}@db/app and https://user@github.com/x", NULL);
    none("redis://localhost:6379", NULL);
}
END_TEST

START_TEST(password_assignment)
{
    has("DB_PASSWORD=hunter2rocks\n", "password-assignment", "hunter2rocks");
    has("  password: \"Wq8!zP2m#Lr5\"\n", "password-assignment", "Wq8!zP2m#Lr5");
    has("{\"password\": \"c0rrect-h0rse\"}", "password-assignment", "c0rrect-h0rse");
    has("spring.datasource.password=Sup3rS3cret!", "password-assignment",
        "Sup3rS3cret!");
    has("<password>n0tTheDefault</password>", "password-assignment", "n0tTheDefault");
    has("define('DB_PASSWORD', 'wp-9fK2mQx');", "password-assignment", "wp-9fK2mQx");
    has("Server=db;User Id=sa;Password=Yukon900;", "password-assignment", "Yukon900");
    has("{\\\"password\\\": \\\"esc4ped!pw\\\"}", "password-assignment", "esc4ped!pw");
    none("password=${DB_PASS}", NULL);
    none("password: <password>", NULL);
    none("password = os.environ[\"DB_PASSWORD\"]", NULL);
    none("password = getpass.getpass()", NULL);
    none("DB_PASSWORD=changeme", NULL);
    none("password: ****", NULL);
    none("password=", NULL);
    none("password = \"\"", NULL);
    none("password: string;", NULL);
    none("const { password } = req.body; user.password = password;", NULL);
    none("if (password == other) return;", NULL);
    none("PASSWORD_MIN_LENGTH = 12", NULL);
    none("password_hash = \"$2b$12$abcdefghijklmnopqrstuv\"", NULL);
    none("Reset your password: click the link below", NULL);
    none("compass = 'north-by-northwest'", NULL);
    none("password: process.env.DB_PASSWORD", NULL);
    none("password: ${{ secrets.DB_PASSWORD }}", NULL);
    none("password=xxx", NULL);
    none("'Test2::Event::Pass'    => '1.302103',", NULL);
    none("AttributeOID.CHALLENGE_PASSWORD: \"challengePassword\",", NULL);
    none("INVALID_PASSWORD = '28P01'\nlast_pass_time => '1219328376.07815'", NULL);
    none("\"passwd:gecos\", :type passphrase: :py:data:`bytes`", NULL);
    /* code that only talks about passes and passwords */
    none("Pass *ResultPass = Resolver->findImplPass(PI);", NULL);
    none("using LinkGraphPassFunction = std::function<Error(LinkGraph &)>;", NULL);
    none("VKI_CAM_PASS_ERR_RECOVER    = 0x00010000,", NULL);
    none("#error \"Do not include <PassSupport.h>; include <Pass.h> instead\"", NULL);
    none("'pass': 'The \"pass\" statement\\n',", NULL);
    has("passphrase = \"correct horse battery staple\"", "password-assignment",
        "correct horse battery staple");
}
END_TEST

START_TEST(generic_secret)
{
    has("API_KEY=xYYMfGmzWkpAePcEJIukB4geqNfngAFT", "generic-secret-assignment",
        "xYYMfGmzWkpAePcEJIukB4geqNfngAFT");
    has("client_secret: 'CloiADN5RpVI2XQWhX1ssrKrxqVqmCplppjs46Lm'",
        "generic-secret-assignment", "CloiADN5RpVI2XQWhX1ssrKrxqVqmCplppjs46Lm");
    has("\"accessToken\": \"bgsYlV-vsSKuvinX.zMqf9OgXluCZz8xBfZuXTpt\"",
        "generic-secret-assignment", "bgsYlV-vsSKuvinX.zMqf9OgXluCZz8xBfZuXTpt");
    has("X-Api-Key: 7c76fb008f86bebb2737f6a6f0fb23c6", "generic-secret-assignment",
        "7c76fb008f86bebb2737f6a6f0fb23c6");
    none("api_key = \"your-api-key-here\"", NULL);
    none("idempotency_key = \"3f1c9a7e-52b4-4c1d-9e8f-0a6b2d4c8e10\"", NULL);
    none("cache_key = \"d41d8cd98f00b204e9800998ecf8427e\"", NULL);
    none("SECRET_KEY = 'my_super_secret_key_2024'", NULL);
    none("max_tokens: 4096", NULL);
    none("token_url = \"https://oauth2.googleapis.com/token\"", NULL);
    none("public_key: \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHqkR9k2s\"", NULL);
    none("api_key = settings.OPENAI_API_KEY", NULL);
    none("key_id = \"a1b2c3d4e5f6a7b8c9d0e1f2\"", NULL);
    none("api_key=api_key", NULL);
    none("tokenizer = AutoTokenizer.from_pretrained(\"bert-base-uncased\")", NULL);
    /* a commit or a SHA-256 under a plain "key" is a hash ... */
    none("\"key\": \"9fceb02d0ae598e95dc970b74767f19372d61af8\"", NULL);
    none("key = \"3b4f2a1c9e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a\"", NULL);
    /* ... under a secret name it is the secret (secrets.token_hex(32)) */
    has("SECRET_KEY = \"3b4f2a1c9e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a\"",
        "generic-secret-assignment",
        "3b4f2a1c9e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a");
}
END_TEST

START_TEST(bearer_and_basic)
{
    has("curl -H \"Authorization: Bearer bgsYlV-vsSKuvinX.zMqf9OgXluCZz8xBfZuXTpt\"",
        "bearer-token", "bgsYlV-vsSKuvinX.zMqf9OgXluCZz8xBfZuXTpt");
    has("Authorization: Basic ZGVwbG95OldxOCF6UDJtI0xyNQ==", "http-basic-auth",
        "ZGVwbG95OldxOCF6UDJtI0xyNQ==");
    none("Authorization: Bearer <token>", NULL);
    none("Authorization: Bearer $TOKEN", NULL);
    none("Basic authentication is described in RFC 7617", NULL);
    /* user:password, admin:changeme */
    none("Authorization: Basic dXNlcjpwYXNzd29yZA==", NULL);
    none("Authorization: Basic YWRtaW46Y2hhbmdlbWU=", NULL);
    /* RFC 6749 and 5849 examples */
    none("\"access_token\":\"2YotnFZFEjr1zCsicMWpAA\", oauth_token=\"ad180jjd733klru7\"", NULL);
    none("Authorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW", NULL);
}
END_TEST

START_TEST(email)
{
    has("Author: John Smith <john.smith@acme-corp.com>", "email",
        "john.smith@acme-corp.com");
    has("mailto:jane.doe+news@mail.example-shop.de", "email",
        "jane.doe+news@mail.example-shop.de");
    none("contact user@example.com or admin@example.org or a@b.example", NULL);
    none("git@github.com:org/repo.git", NULL);
    none("@app.route('/x') and @types/node and lodash@4.17.21", NULL);
    none("logo@2x.png and foo@localhost and bob@server.test", NULL);
    none("https://user@gitlab.com/x", NULL);
    none("noreply@github.com", NULL);
    /* JSON text as sent: escapes before a decorator on a diff line */
    none("b/src/app.py\\n+@app.route(\\\"/health\\\")\\n", NULL);
    has("to:\\njane.doe@acme-corp.com", "email", "jane.doe@acme-corp.com");
}
END_TEST

START_TEST(phone)
{
    has("call me at +1 415 867 5309 tomorrow", "phone", "+1 415 867 5309");
    has("Tel: (212) 418-2390", "phone", "(212) 418-2390");
    has("office 415-867-5309.", "phone", "415-867-5309");
    has("+44 20 7123 4567", "phone", "+44 20 7123 4567");
    has("+4915112345678", "phone", "+4915112345678");
    has("appelez le 01 42 68 53 07", "phone", "01 42 68 53 07");
    has("phone: 030 12345678", "phone", "030 12345678");
    none("(212) 555-0147 is fictional, so is 555-0199", NULL);
    none("version 1.2.3, date 2024-01-15, time 12:30:45", NULL);
    none("ports 8080 8443 9090, line 1234567", NULL);
    none("sha 3f2a9b81234567890c and id 2024-0115-7781", NULL);
    none("timestamp 1717000000123 and 2024-01-15T10:11:12.123Z", NULL);
    none("+44 20 7946 0958 is for drama", NULL);
    none("tel:+1-816-555-1212 and <Buffer 01 02 03 04 05>", NULL);
    none("// C++14 20.8.2.2.4 and a+12345678", NULL);
}
END_TEST

START_TEST(credit_card)
{
    has("card 4787 7893 2879 2170 exp 12/27", "credit-card", "4787 7893 2879 2170");
    has("5142-1809-6792-9082", "credit-card", "5142-1809-6792-9082");
    has("amex 373834701746811", "credit-card", "373834701746811");
    has("pan=6011453840191618;", "credit-card", "6011453840191618");
    none("4242 4242 4242 4242 and 4111 1111 1111 1111 and 5555 5555 5555 4444", NULL);
    none("card ending ****1234, masked 4787 **** **** 2170", NULL);
    none("4787 7893 2879 2171 fails Luhn", NULL);
    none("order 1234567890123456", NULL);
    /* code point tables and hex dumps have runs of 4-digit groups */
    none("7819 781A 781B 781C 2542F 25430 4100 7944 7945 7946", NULL);
    none("6BDB 77DB 6786 7266 8305 8306 65C4 7F5E 515E 8EDE", NULL);
}
END_TEST

START_TEST(iban)
{
    has("IBAN: DE44 5001 0517 5407 3249 31", "iban", "DE44 5001 0517 5407 3249 31");
    has("iban=GB46NWBK07728378326616", "iban", "GB46NWBK07728378326616");
    has("FR1863049403269910237409546 BIC XYZ", "iban", "FR1863049403269910237409546");
    none("DE89 3704 0044 0532 0130 00 is the documentation example", NULL);
    none("DE45 5001 0517 5407 3249 31 fails mod 97", NULL);
    none("HTTP2 and AB12 are not IBANs", NULL);
}
END_TEST

START_TEST(us_ssn)
{
    has("SSN: 536-22-1947", "us-ssn", "536-22-1947");
    has("social security number 536221947", "us-ssn", "536221947");
    none("ssn 078-05-1120 and 219-09-9999", NULL);
    none("666-12-3456 900-12-3456 000-12-3456 536-00-1947 536-22-0000", NULL);
    none("random 536221947 without context", NULL);
    none("ssn : 111-22-3333 and 123-45-9999", NULL);
}
END_TEST

START_TEST(ip_address)
{
    has("server at 34.117.59.81:443", "ipv4-public", "34.117.59.81");
    has("client=2607:f8b0:4005:80a::200e", "ipv6-public", "2607:f8b0:4005:80a::200e");
    none("10.0.0.1 192.168.1.20 172.16.5.4 127.0.0.1 169.254.1.1 100.64.0.1", NULL);
    none("192.0.2.10 198.51.100.7 203.0.113.99 224.0.0.251 255.255.255.0", NULL);
    none("dns 8.8.8.8 8.8.4.4 1.1.1.1 9.9.9.9 208.67.222.222", NULL);
    none("version 4.2.1.10 and requests==2.31.0.1 and v1.2.3.4", NULL);
    none("upgrade V8 to 4.2.77.18; HTML5 Working Draft Section 4.10.22.7", NULL);
    none("v8: '12.4.254.14-node.11'", NULL);
    none("2001:db8::1 and ::1 and fe80::1 and std::vector and 12:34:56", NULL);
    none("mac 00:1a:2b:3c:4d:5e and oid 1.3.6.1.4.1.311", NULL);
    /* section numbers of standards and object ids */
    none("// 22.2.1.1  Template class ctype; see CDC spec 5.2.3.3 and [23.2.2.1]", NULL);
    none("#define OID_COMMON_NAME \"2.5.4.3\" /* 30.3.3.3 aFrames */", NULL);
    none("convert IP addr string (123.45.67.89) and IPv6Network('2001:1::1/128')", NULL);
    /* ...but small addresses with a sign of an address are found */
    has("server ip 20.1.4.5 refused", "ipv4-public", "20.1.4.5");
    has("peer=2a00:1450:4001:82a::200e", "ipv6-public", "2a00:1450:4001:82a::200e");
}
END_TEST

START_TEST(admin_rules)
{
    apr_pool_t *p;
    llm_scan_rules_t *rs;
    apr_array_header_t *out;
    const char *words[] = { "Project Falcon", "acme-internal", "Globex" };
    const char *text = "Ask about project falcon at acme-internal; not Globexx.";
    llm_scan_match_t *m;

    apr_pool_create(&p, pool);
    rs = llm_scan_rules_create(p, 1);
    ck_assert_ptr_null(llm_scan_rules_add_keywords(rs, "CODENAME", "codenames",
                                                   words, 3, LLM_CAT_CONTENT));
    ck_assert_ptr_null(llm_scan_rules_add_pattern(rs, "TICKET", "jira",
                                                  "\\bOPS-[0-9]{3,6}\\b",
                                                  LLM_CAT_CONTENT));
    ck_assert_ptr_null(llm_scan_rules_add_allow(rs, "ops-bot@acme-corp\\.com"));
    ck_assert_ptr_nonnull(llm_scan_rules_add_pattern(rs, "bad", "x", "a",
                                                     LLM_CAT_CONTENT));
    ck_assert_ptr_nonnull(llm_scan_rules_add_pattern(rs, "BAD", "y", "(",
                                                     LLM_CAT_CONTENT));
    ck_assert_ptr_null(llm_scan_rules_disable(rs, "PHONE"));
    ck_assert_ptr_nonnull(llm_scan_rules_disable(rs, "no-such-rule"));
    /* a removed built-in rule: rule files written for it still load */
    ck_assert_ptr_null(llm_scan_rules_disable(rs, "twilio-account-sid"));
    ck_assert_ptr_null(llm_scan_rules_compile(rs));
    ck_assert(llm_scan_rules_has_type(rs, "CODENAME"));
    ck_assert(llm_scan_rules_has_type(rs, "EMAIL"));
    ck_assert(!llm_scan_rules_has_type(rs, "NOPE"));

    out = apr_array_make(p, 4, sizeof(llm_scan_match_t));
    ck_assert_int_eq(llm_scan_text(rs, text, strlen(text), p, out), 2);
    m = &APR_ARRAY_IDX(out, 0, llm_scan_match_t);
    ck_assert_str_eq(m->type, "CODENAME");
    ck_assert_int_eq(m->offset, 10);
    ck_assert_int_eq(m->length, 14);
    ck_assert_int_eq(m->category, LLM_CAT_CONTENT);

    out = apr_array_make(p, 4, sizeof(llm_scan_match_t));
    text = "see OPS-1234, mail ops-bot@acme-corp.com, call +1 415 867 5309";
    ck_assert_int_eq(llm_scan_text(rs, text, strlen(text), p, out), 1);
    ck_assert_str_eq(APR_ARRAY_IDX(out, 0, llm_scan_match_t).rule, "jira");
    apr_pool_destroy(p);

    /* an allowed match of an admin pattern must not restart the search */
    apr_pool_create(&p, pool);
    rs = llm_scan_rules_create(p, 0);
    ck_assert_ptr_null(llm_scan_rules_add_pattern(rs, "TICKET", "jira",
                                                  "OPS-[0-9]+", LLM_CAT_CONTENT));
    ck_assert_ptr_null(llm_scan_rules_add_allow(rs, "OPS-1234"));
    ck_assert_ptr_null(llm_scan_rules_compile(rs));
    text = "a long enough prefix to put the ticket further on: OPS-1234 and OPS-77";
    out = apr_array_make(p, 4, sizeof(llm_scan_match_t));
    ck_assert_int_eq(llm_scan_text(rs, text, strlen(text), p, out), 1);
    ck_assert_int_eq(APR_ARRAY_IDX(out, 0, llm_scan_match_t).length, 6);
    apr_pool_destroy(p);

    /* without the built-in rules: disabling one is accepted, none runs */
    apr_pool_create(&p, pool);
    rs = llm_scan_rules_create(p, 0);
    ck_assert_ptr_null(llm_scan_rules_disable(rs, "github-pat-classic"));
    ck_assert_ptr_null(llm_scan_rules_disable(rs, "EMAIL"));
    ck_assert_ptr_null(llm_scan_rules_add_pattern(rs, "TICKET", "jira",
                                                  "OPS-[0-9]+", LLM_CAT_CONTENT));
    ck_assert_ptr_null(llm_scan_rules_compile(rs));
    text = "OPS-12 ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d a.b@acme-corp.com";
    out = apr_array_make(p, 4, sizeof(llm_scan_match_t));
    ck_assert_int_eq(llm_scan_text(rs, text, strlen(text), p, out), 1);
    apr_pool_destroy(p);
}
END_TEST

/* An admin's pattern and keyword list run on the decoded views too: a
 * ticket or an internal token written percent-encoded, with an invisible
 * character inside, or in base64 JSON is reported over its raw bytes. */
START_TEST(admin_rules_on_views)
{
    apr_pool_t *p;
    llm_scan_rules_t *rs;
    const char *words[] = { "Project Falcon" };
    static const struct { const char *text, *type, *value; } cases[] = {
        { "GET /t?ref=OPS%2D48213&x=1", "TICKET", "OPS%2D48213" },
        { "ref=%4F%50%53%2D%34%38%32%31%33;", "TICKET",
          "%4F%50%53%2D%34%38%32%31%33" },
        { "next=%2Ft%3Fref%3DOPS%252D48213", "TICKET", "OPS%252D48213" },
        { "see OPS-48\xe2\x80\x8b" "213 today", "TICKET", "OPS-48\xe2\x80\x8b" "213" },
        { "itk_9f2c4e7a1b3d5f60\xc2\xad" "8e2a4c6b9d1f3e5a", "INTERNAL_TOKEN",
          "itk_9f2c4e7a1b3d5f60\xc2\xad" "8e2a4c6b9d1f3e5a" },
        /* {"ticket": "OPS-48213"} in base64 JSON: the whole run */
        { "payload: eyJ0aWNrZXQiOiAiT1BTLTQ4MjEzIn0=\n", "TICKET",
          "eyJ0aWNrZXQiOiAiT1BTLTQ4MjEzIn0=" },
        { "about project%20falcon", "CODENAME", NULL },  /* %20 makes no view */
        { "about project fal\xe2\x81\xa0" "con", "CODENAME",
          "project fal\xe2\x81\xa0" "con" },
        { NULL, NULL, NULL }
    };
    int i, j, found;

    apr_pool_create(&p, pool);
    rs = llm_scan_rules_create(p, 1);
    ck_assert_ptr_null(llm_scan_rules_add_pattern(rs, "TICKET", "jira",
                                                  "\\bOPS-[0-9]{3,6}\\b",
                                                  LLM_CAT_CONTENT));
    ck_assert_ptr_null(llm_scan_rules_add_pattern(rs, "INTERNAL_TOKEN", "itk",
                                                  "\\bitk_[0-9a-f]{32}\\b",
                                                  LLM_CAT_SECRET));
    ck_assert_ptr_null(llm_scan_rules_add_keywords(rs, "CODENAME", "codenames",
                                                   words, 1, LLM_CAT_CONTENT));
    ck_assert_ptr_null(llm_scan_rules_compile(rs));
    for (i = 0; cases[i].text; i++) {
        const char *t = cases[i].text;
        apr_array_header_t *out = apr_array_make(p, 4, sizeof(llm_scan_match_t));
        ck_assert_int_ge(llm_scan_text(rs, t, strlen(t), p, out), 0);
        for (j = 0, found = 0; j < out->nelts; j++) {
            llm_scan_match_t *m = &APR_ARRAY_IDX(out, j, llm_scan_match_t);
            if (!strcmp(m->type, cases[i].type)) {
                found = 1;
                ck_assert_msg(cases[i].value
                              && m->length == strlen(cases[i].value)
                              && !memcmp(t + m->offset, cases[i].value,
                                         m->length),
                              "'%s': got %s", t, describe(t, out));
            }
        }
        ck_assert_msg(found == (cases[i].value != NULL), "'%s': got %s", t,
                      describe(t, out));
    }
    apr_pool_destroy(p);
}
END_TEST

/* llm_scan_joined over parts cut out of text: the matches that cross a
 * cut, with offsets in text. */
static apr_array_header_t *joined(const char *text, const size_t *cuts,
                                  int ncuts, size_t window)
{
    const char *texts[8];
    size_t lens[8], prev = 0;
    apr_array_header_t *out = apr_array_make(pool, 4, sizeof(llm_scan_match_t));
    int k, n;

    for (k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : strlen(text);
        texts[k] = text + prev;
        lens[k] = end - prev;
        prev = end;
    }
    n = llm_scan_joined(rules, texts, lens, ncuts + 1, window, pool, out);
    ck_assert_int_ge(n, 0);
    ck_assert_int_eq(n, out->nelts);
    return out;
}

static int joined_has(apr_array_header_t *out, const char *text,
                      const char *type, const char *value)
{
    int i;

    for (i = 0; i < out->nelts; i++) {
        llm_scan_match_t *m = &APR_ARRAY_IDX(out, i, llm_scan_match_t);
        if (!strcmp(m->type, type) && m->length == strlen(value)
            && !memcmp(text + m->offset, value, m->length)) {
            return 1;
        }
    }
    return 0;
}

/* A value split over adjacent messages, at every offset inside it, with
 * one cut and with two; nothing else is reported (what lies in one part
 * is that part's own scan's). */
START_TEST(split_values_joined)
{
    static const struct { const char *text, *type, *value; } cases[] = {
        { "key AKIAZ3MJQW7XK4RTLP2B ok", "AWS_ACCESS_KEY", "AKIAZ3MJQW7XK4RTLP2B" },
        { "token: ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d.", "GITHUB_TOKEN",
          "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d" },
        { "write to jane.roe@globex-payments.io please", "EMAIL",
          "jane.roe@globex-payments.io" },
        { "DB_PASSWORD=Tr0ub4dor^3xQ\n", "PASSWORD", "Tr0ub4dor^3xQ" },
        { "card 4526 0181 5908 3012 exp 12/29", "CREDIT_CARD", "4526 0181 5908 3012" },
        { "postgres://app:Zq7rT2mW9x@db.acme-corp.com/shop", "PASSWORD", "Zq7rT2mW9x" },
        { NULL, NULL, NULL }
    };
    int i;
    size_t vo, vl, a, b;

    for (i = 0; cases[i].text; i++) {
        const char *t = cases[i].text;
        vo = (size_t)(strstr(t, cases[i].value) - t);
        vl = strlen(cases[i].value);
        for (a = vo + 1; a < vo + vl; a++) {
            apr_array_header_t *out = joined(t, &a, 1, 0);
            ck_assert_msg(joined_has(out, t, cases[i].type, cases[i].value)
                          && out->nelts == 1, "'%s' cut at %zu: got%s", t, a,
                          describe(t, out));
            for (b = a + 1; b < vo + vl; b++) {
                size_t cuts[2] = { a, b };
                out = joined(t, cuts, 2, 0);
                ck_assert_msg(joined_has(out, t, cases[i].type, cases[i].value)
                              && out->nelts == 1, "'%s' cut at %zu and %zu: got%s",
                              t, a, b, describe(t, out));
            }
        }
        /* cut outside the value: nothing crosses */
        a = vo > 0 ? vo - 1 : vo + vl + 1;
        ck_assert_int_eq(joined(t, &a, 1, 0)->nelts, 0);
        a = vo;
        ck_assert_int_eq(joined(t, &a, 1, 0)->nelts, 0);
    }
}
END_TEST

/* A private key cut in two just after its first line, read through a
 * window that holds the first line but not the last: the block found
 * reaches the window's edge, so the window grows until the whole block
 * is read. */
START_TEST(split_private_key_widens)
{
    const char *t = "here:\n-----BEGIN RSA PRIVATE KEY-----\n"
        "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi6Ej0v1L1gJw8Ku1d2jHzv5lOq\n"
        "Wq9Kc7vbP4zR1sL0mN3aT8uYxQ2eF6gH9jD4kV7bN1cX5zS8wR3tU6yI0oP2aL4\n"
        "sD7fG9hJ1kL3zX5cV8bN0mQ2wE4rT6yU8iO1pA3sD5fG7hJ9kL2zX4cV6bN8mQ0\n"
        "-----END RSA PRIVATE KEY-----\nthanks";
    const char *b = strstr(t, "-----BEGIN"), *e = strstr(t, "KEY-----\nthanks");
    size_t cut = (size_t)(strstr(t, "MIIEpA") - t) + 4;
    char *value = apr_pstrmemdup(pool, b, (size_t)(e - b) + 8);
    apr_array_header_t *out;

    out = joined(t, &cut, 1, 48);
    ck_assert_msg(joined_has(out, t, "PRIVATE_KEY", value), "got%s",
                  describe(t, out));
    out = joined(t, &cut, 1, 0);
    ck_assert_msg(joined_has(out, t, "PRIVATE_KEY", value), "got%s",
                  describe(t, out));
}
END_TEST

/* With the default window (1 KB, 4 KB on a side that is base64 where
 * the parts meet): a 4096-bit key block cut at each of its lines, far
 * from its BEGIN line, and a long JWT cut near its start, each between
 * pages of prose. */
START_TEST(split_long_values_default_window)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char prose[] = "The nightly job copies the reports to the "
                                "archive and mails a summary.\n";
    char *t, *o, *key, *tok;
    size_t k, line, cut, kb, ke;
    apr_array_header_t *out;
    unsigned int x = 7;

    t = apr_palloc(pool, 16384);
    o = t;
    for (k = 0; k < 30; k++) {
        o += sprintf(o, "%s", prose);
    }
    key = o;
    o += sprintf(o, "-----BEGIN RSA PRIVATE KEY-----\n");
    for (line = 0; line < 50; line++) {
        for (k = 0; k < 64; k++) {
            x = x * 1103515245u + 12345u;
            *o++ = b64[(x >> 16) % 64];
        }
        *o++ = '\n';
    }
    o += sprintf(o, "-----END RSA PRIVATE KEY-----");
    kb = (size_t)(key - t);
    ke = (size_t)(o - t);
    o += sprintf(o, "\n");
    for (k = 0; k < 30; k++) {
        o += sprintf(o, "%s", prose);
    }
    key = apr_pstrmemdup(pool, t + kb, ke - kb);
    for (cut = kb + 32; cut < ke; cut += 65) {
        out = joined(t, &cut, 1, 0);
        ck_assert_msg(joined_has(out, t, "PRIVATE_KEY", key),
                      "key cut at %zu of %zu..%zu: got%s", cut - kb, kb, ke,
                      describe(t + kb, out));
    }

    /* a JWT whose payload is 1.5 KB of claims */
    o = t;
    for (k = 0; k < 30; k++) {
        o += sprintf(o, "%s", prose);
    }
    tok = o;
    o += sprintf(o, "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJ");
    for (k = 0; k < 1500; k++) {
        x = x * 1103515245u + 12345u;
        *o++ = b64[(x >> 16) % 62];
    }
    o += sprintf(o, ".");
    for (k = 0; k < 86; k++) {
        x = x * 1103515245u + 12345u;
        *o++ = b64[(x >> 16) % 62];
    }
    kb = (size_t)(tok - t);
    ke = (size_t)(o - t);
    o += sprintf(o, " was the token\n");
    tok = apr_pstrmemdup(pool, t + kb, ke - kb);
    for (cut = kb + 5; cut < ke; cut += 97) {
        out = joined(t, &cut, 1, 0);
        ck_assert_msg(joined_has(out, t, "JWT", tok), "JWT cut at %zu: got%s",
                      cut - kb, describe(t + kb, out));
    }
}
END_TEST

/* Ordinary messages meeting: words, sentences, code, numbers. */
START_TEST(split_clean_joins)
{
    static const char *const pairs[][2] = {
        { "Thanks, that worked.", "Next question: why does the build fail?" },
        { "commit 9fceb02d0ae598e9", "5dc970b74767f19372d61af8 fixed it" },
        { "see ticket 4111", "1111 lines changed" },
        { "id: 3f2b9c1e-7a4d", "-4e8f-9b1a-2c6d8e0f4a7b" },
        { "password", " reset link expires after 24 hours" },
        { "sha256:e3b0c44298fc1c149afbf4c8996fb924", "27ae41e4649b934ca495991b7852b855" },
        { NULL, NULL }
    };
    int i;

    for (i = 0; pairs[i][0]; i++) {
        const char *texts[2] = { pairs[i][0], pairs[i][1] };
        size_t lens[2] = { strlen(pairs[i][0]), strlen(pairs[i][1]) };
        apr_array_header_t *out = apr_array_make(pool, 4, sizeof(llm_scan_match_t));
        ck_assert_int_eq(llm_scan_joined(rules, texts, lens, 2, 0, pool, out), 0);
    }
}
END_TEST

START_TEST(overlaps_and_order)
{
    const char *t = "postgres://bob:Zq7rT2mW9x@db.acme-corp.com/x "
                    "api_key=\"ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d\"";
    apr_array_header_t *out = scan(t);
    int i;

    ck_assert_int_eq(out->nelts, 2);
    ck_assert_str_eq(APR_ARRAY_IDX(out, 0, llm_scan_match_t).type, "PASSWORD");
    ck_assert_str_eq(APR_ARRAY_IDX(out, 1, llm_scan_match_t).type, "GITHUB_TOKEN");
    for (i = 1; i < out->nelts; i++) {
        ck_assert(APR_ARRAY_IDX(out, i - 1, llm_scan_match_t).offset
                  < APR_ARRAY_IDX(out, i, llm_scan_match_t).offset);
    }
    {
        /* many findings: all kept, in order (resolution is not quadratic) */
        char *big = apr_palloc(pool, 40 * 5000 + 1), *w = big;
        apr_array_header_t *o2;
        for (i = 0; i < 5000; i++) {
            w += sprintf(w, "u%d@acme-corp.com ", i);
        }
        o2 = apr_array_make(pool, 16, sizeof(llm_scan_match_t));
        ck_assert_int_eq(llm_scan_text(rules, big, strlen(big), pool, o2), 5000);
        for (i = 1; i < o2->nelts; i++) {
            ck_assert(APR_ARRAY_IDX(o2, i - 1, llm_scan_match_t).offset
                      < APR_ARRAY_IDX(o2, i, llm_scan_match_t).offset);
        }
    }
    ck_assert_int_eq(llm_scan_builtin_category("EMAIL"), LLM_CAT_PII);
    ck_assert_int_eq(llm_scan_builtin_category("JWT"), LLM_CAT_SECRET);
    ck_assert_int_eq(llm_scan_builtin_category("NOPE"), -1);
}
END_TEST

START_TEST(agent_text_shapes)
{
    /* a file read with line numbers, a diff's removed line, a log line */
    has("    12\tDB_PASSWORD=hunter2rocks\n    13\tDEBUG=1\n",
        "password-assignment", "hunter2rocks");
    has("-aws_secret_access_key = 9dJkL2mN4pQ7rS1tU8vW3xY6zA0bC5dE7fG9hI2j\n"
        "+aws_secret_access_key = ${AWS_SECRET}\n",
        "aws-secret-access-key", "9dJkL2mN4pQ7rS1tU8vW3xY6zA0bC5dE7fG9hI2j");
    has("2024-05-01T10:00:00Z INFO login ok user=jane.doe@acme-corp.com ip=34.117.59.81",
        "ipv4-public", "34.117.59.81");
    has("  File \"app.py\", line 42, in connect\n    conn = psycopg2.connect(\"postgresql://svc:Rk9xLw2Pq@10.0.0.5/app\")",
        "connection-string-password", "Rk9xLw2Pq");
    /* shell commands in a Bash tool call */
    has("PGPASSWORD=Xk9mP2vLq7 psql -h db.internal -U app orders",
        "password-assignment", "Xk9mP2vLq7");
    has("MYSQL_PWD=Xk9mP2vLq7 mysqldump --all-databases > dump.sql",
        "password-assignment", "Xk9mP2vLq7");
    /* decorators on diff lines */
    none("+@app.route(\"/health\")\n+@pytest.fixture\n-@dataclass(frozen=True)\n+@Override", NULL);
    /* Claude Code's Read tool: "     2→content" */
    has("     1\u2192# config\n     2\u2192DB_PASSWORD=hunter2rocks\n",
        "password-assignment", "hunter2rocks");
    none("", NULL);
    none("x", NULL);
}
END_TEST

typedef struct {
    const char *text;
    int expect;
    int bad;
} thread_job_t;

static void *APR_THREAD_FUNC scan_thread(apr_thread_t *th, void *data)
{
    thread_job_t *job = data;
    apr_pool_t *p;
    int i;

    apr_pool_create_unmanaged(&p);
    for (i = 0; i < 200; i++) {
        apr_array_header_t *out = apr_array_make(p, 4, sizeof(llm_scan_match_t));
        if (llm_scan_text(rules, job->text, strlen(job->text), p, out) != job->expect) {
            job->bad++;
        }
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    apr_thread_exit(th, APR_SUCCESS);
    return NULL;
}

/* One compiled rule set, many threads at once: the gateway's situation */
START_TEST(shared_by_threads)
{
    apr_thread_t *th[4];
    thread_job_t job[4] = {
        { "key ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d mail a.b@acme-corp.com", 2, 0 },
        { "DB_PASSWORD=hunter2rocks +1 415 867 5309", 2, 0 },
        { "nothing here at all, version 1.2.3", 0, 0 },
        { "card 4787 7893 2879 2170 ssn 536-22-1947 ip 34.117.59.81", 3, 0 },
    };
    apr_status_t rv;
    int i;

    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(apr_thread_create(&th[i], NULL, scan_thread, &job[i], pool),
                         APR_SUCCESS);
    }
    for (i = 0; i < 4; i++) {
        apr_thread_join(&rv, th[i]);
        ck_assert_int_eq(job[i].bad, 0);
    }
}
END_TEST

START_TEST(many_keywords)
{
    apr_pool_t *p;
    llm_scan_rules_t *rs;
    apr_array_header_t *out;
    const char **words;
    char *text;
    int i;

    apr_pool_create(&p, pool);
    words = apr_palloc(p, sizeof(char *) * 10000);
    for (i = 0; i < 10000; i++) {
        words[i] = apr_psprintf(p, "customer%05dname", i);
    }
    rs = llm_scan_rules_create(p, 0);
    ck_assert_ptr_null(llm_scan_rules_add_keywords(rs, "CUSTOMER", "customers",
                                                   words, 10000, LLM_CAT_CONTENT));
    ck_assert_ptr_null(llm_scan_rules_compile(rs));
    text = "Ticket from Customer00042Name and customer09999name, "
           "not xcustomer00001name or customer00001names.";
    out = apr_array_make(p, 4, sizeof(llm_scan_match_t));
    ck_assert_int_eq(llm_scan_text(rs, text, strlen(text), p, out), 2);
    ck_assert_int_eq(APR_ARRAY_IDX(out, 0, llm_scan_match_t).offset, 12);
    ck_assert_int_eq(APR_ARRAY_IDX(out, 1, llm_scan_match_t).length, 17);
    apr_pool_destroy(p);
}
END_TEST


/* One positive case per built-in rule: every_rule_has_a_case fails when a
 * rule is added without one.  The value is what the match must cover. */
static const struct {
    const char *rule, *text, *value;
} rule_cases[] = {
    { "private-key-rsa", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuv\n-----END RSA PRIVATE KEY-----",
      "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuv\n-----END RSA PRIVATE KEY-----" },
    { "private-key-ec", "x -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg3Xq9Lw2Pz8mN4vR7\n-----END EC PRIVATE KEY-----",
      "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg3Xq9Lw2Pz8mN4vR7\n-----END EC PRIVATE KEY-----" },
    { "private-key-dsa", "-----BEGIN DSA PRIVATE KEY-----\nMIIBuwIBAAKBgQD3f9Xq2Lw\n-----END DSA PRIVATE KEY-----",
      "-----BEGIN DSA PRIVATE KEY-----\nMIIBuwIBAAKBgQD3f9Xq2Lw\n-----END DSA PRIVATE KEY-----" },
    { "private-key-openssh", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----",
      "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----" },
    { "private-key-encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG\n-----END ENCRYPTED PRIVATE KEY-----",
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG\n-----END ENCRYPTED PRIVATE KEY-----" },
    { "private-key-pkcs8", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\n-----END PRIVATE KEY-----",
      "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\n-----END PRIVATE KEY-----" },
    { "private-key-pgp", "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF3xk2sBCADH8Lq0Zm9wT4rV\n-----END PGP PRIVATE KEY BLOCK-----",
      "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF3xk2sBCADH8Lq0Zm9wT4rV\n-----END PGP PRIVATE KEY BLOCK-----" },
    { "jwt", "t=eyJhbGciOiAiSFMyNTYifQ.eyJzdWIiOiAidS04MjMxIn0.PiYGFDm7ena8D5VfLDpgyyjVw5",
      "eyJhbGciOiAiSFMyNTYifQ.eyJzdWIiOiAidS04MjMxIn0.PiYGFDm7ena8D5VfLDpgyyjVw5" },
    { "connection-string-password", "amqp://svc:Rk9xLw2Pq@mq.internal:5672/", "Rk9xLw2Pq" },
    { "password-assignment", "DB_PASSWORD=hunter2rocks", "hunter2rocks" },
    { "aws-secret-access-key", "aws_secret_access_key=9dJkL2mN4pQ7rS1tU8vW3xY6zA0bC5dE7fG9hI2j",
      "9dJkL2mN4pQ7rS1tU8vW3xY6zA0bC5dE7fG9hI2j" },
    { "gcp-service-account-key-id", "\"private_key_id\": \"c1c1e21862ab8a18a8902073fec8df4f50947aae\"",
      "c1c1e21862ab8a18a8902073fec8df4f50947aae" },
    { "twilio-auth-token", "TWILIO_AUTH_TOKEN=3e210471948d33296c87009e8a7f770d",
      "3e210471948d33296c87009e8a7f770d" },
    { "generic-secret-assignment", "API_KEY=xYYMfGmzWkpAePcEJIukB4geqNfngAFT",
      "xYYMfGmzWkpAePcEJIukB4geqNfngAFT" },
    { "email", "to jane.doe@acme-corp.com", "jane.doe@acme-corp.com" },
    { "phone", "call +1 415 867 5309", "+1 415 867 5309" },
    { "credit-card", "card 4787 7893 2879 2170", "4787 7893 2879 2170" },
    { "iban", "IBAN DE44 5001 0517 5407 3249 31", "DE44 5001 0517 5407 3249 31" },
    { "us-ssn", "SSN 536-22-1947", "536-22-1947" },
    { "ipv4-public", "from 34.117.59.81", "34.117.59.81" },
    { "ipv6-public", "from 2607:f8b0:4005:80a::200e", "2607:f8b0:4005:80a::200e" },
    { "aws-access-key-id", "AKIAZ3MJQW7XK4RTLP2B", "AKIAZ3MJQW7XK4RTLP2B" },
    { "github-pat-classic", "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d",
      "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d" },
    { "github-pat-fine-grained",
      "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",
      "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" },
    { "github-app-token", "ghu_IBXuDL7DxtpYlSXpfKtHF4vUCsMehGAkWvj7",
      "ghu_IBXuDL7DxtpYlSXpfKtHF4vUCsMehGAkWvj7" },
    { "github-oauth-token", "gho_KLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFR",
      "gho_KLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFR" },
    { "gitlab-token", "glpat-WDtkwtDDb_xHKas1VOqg", "glpat-WDtkwtDDb_xHKas1VOqg" },
    { "slack-token", "xoxb-78666617603-137215901092-Ig8xNbe3nNyjOq9wMxEhh2FD",
      "xoxb-78666617603-137215901092-Ig8xNbe3nNyjOq9wMxEhh2FD" },
    { "slack-app-token", "xapp-1-A05B7KQ2M9Z-6091234567890-4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e",
      "xapp-1-A05B7KQ2M9Z-6091234567890-4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e" },
    { "slack-webhook", "https://hooks.slack.com/services/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",
      "hooks.slack.com/services/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" },
    { "stripe-live-key", "sk_live_03nbqnsGpWLuqIA1id6Vw5DQ", "sk_live_03nbqnsGpWLuqIA1id6Vw5DQ" },
    { "stripe-webhook-secret", "whsec_J9WnywX0t0ZBfdTEmxI6CmuxV5EbOApZ",
      "whsec_J9WnywX0t0ZBfdTEmxI6CmuxV5EbOApZ" },
    { "anthropic-key", "sk-ant-api03-HZt-PlJhx2jIclHkCiHp6bR1IqfEouHgxzNNAL5wIScGebcy8F5n3",
      "sk-ant-api03-HZt-PlJhx2jIclHkCiHp6bR1IqfEouHgxzNNAL5wIScGebcy8F5n3" },
    { "openai-project-key", "sk-proj-m5di4PzJ59FHz5r1pY4OjE2jBMptUsGr7CmY_uCu3ZR1zTOl",
      "sk-proj-m5di4PzJ59FHz5r1pY4OjE2jBMptUsGr7CmY_uCu3ZR1zTOl" },
    { "openai-key", "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",
      "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" },
    { "google-api-key", "AIzaaQWk8JzFalHlsZfYcMMDktXP-tKsf2rcDkd",
      "AIzaaQWk8JzFalHlsZfYcMMDktXP-tKsf2rcDkd" },
    { "npm-token", "npm_ciOx9gy1CJdObOIRpFqaDZeV7G5IfQHeVVEq",
      "npm_ciOx9gy1CJdObOIRpFqaDZeV7G5IfQHeVVEq" },
    { "pypi-token", "pypi-AgEIcHlwaS5vcmcjHEAD6-Wj9KfzjsQGMrb9h_ImB_LK777pzNk8cL6j5IXAAjlsHUqJoUD-_Yd",
      "pypi-AgEIcHlwaS5vcmcjHEAD6-Wj9KfzjsQGMrb9h_ImB_LK777pzNk8cL6j5IXAAjlsHUqJoUD-_Yd" },
    { "sendgrid-api-key", "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",
      "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" },
    { "twilio-api-key", "SK9fc35526f7eaed46725a2a7b860dcd6c", "SK9fc35526f7eaed46725a2a7b860dcd6c" },
    { "azure-storage-key", "AccountKey=tKZODgUxf+KspWsUQTqqbOxeOn4Isla3a1yuZTIBzEq92IERNH74M0/E0TE7dzhDwuNLG/Offpwv5Tl8aumqDg==;",
      "tKZODgUxf+KspWsUQTqqbOxeOn4Isla3a1yuZTIBzEq92IERNH74M0/E0TE7dzhDwuNLG/Offpwv5Tl8aumqDg==" },
    { "azure-client-secret", "8Mj8Q~YgBds1ghxY5OokvQyx7eNWVQ4vnakJkS1p",
      "8Mj8Q~YgBds1ghxY5OokvQyx7eNWVQ4vnakJkS1p" },
    { "huggingface-token", "hf_J9WnywX0t0ZBfdTEmxI6CmuxV5EbOApZOX", "hf_J9WnywX0t0ZBfdTEmxI6CmuxV5EbOApZOX" },
    { "digitalocean-token", "dop_v1_c1c1e21862ab8a18a8902073fec8df4f50947aaec1c1e21862ab8a18a8902073",
      "dop_v1_c1c1e21862ab8a18a8902073fec8df4f50947aaec1c1e21862ab8a18a8902073" },
    { "shopify-token", "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", "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" },
    { "square-token", "sq0csp-sNaWQrZzhB4GZqT8hqt0pmpsLww0sAO_DGpUxjKbgRB",
      "sq0csp-sNaWQrZzhB4GZqT8hqt0pmpsLww0sAO_DGpUxjKbgRB" },
    { "atlassian-token",
      "ATATT3xFfGF0WZRZX1VlxeVZ4DNCNnOBFXL4k41GiLP9qG3L0uKW4yWRzSaTLyvH1D0SZaozaNv4AH17KzcnNjeh1MVLymYZwH6Qqq5X1wUGAJ7Wx98vjE6boQ",
      "ATATT3xFfGF0WZRZX1VlxeVZ4DNCNnOBFXL4k41GiLP9qG3L0uKW4yWRzSaTLyvH1D0SZaozaNv4AH17KzcnNjeh1MVLymYZwH6Qqq5X1wUGAJ7Wx98vjE6boQ" },
    { "databricks-token", "dapia1c095409993fd21b5aaa1c87409cd75", "dapia1c095409993fd21b5aaa1c87409cd75" },
    { "vault-token", "VAULT_TOKEN=hvs.HAdnpPqk1KgBaK8b1mi59lOt", "hvs.HAdnpPqk1KgBaK8b1mi59lOt" },
    { "mailgun-key", "key-185d401ce257ad4f2b57f63d654f7585", "key-185d401ce257ad4f2b57f63d654f7585" },
    { "mailchimp-key", "2777dc278aaf6301d1a619588096b35b-us13", "2777dc278aaf6301d1a619588096b35b-us13" },
    { "postman-key", "PMAK-4986e10b742c0bac74200567-a820d3d2bfdc8ab3872178a38976ee082c",
      "PMAK-4986e10b742c0bac74200567-a820d3d2bfdc8ab3872178a38976ee082c" },
    { "age-secret-key", "AGE-SECRET-KEY-18PJLUM50XJEDY3AL49PR9G6VMPP85DDXQMJTGJT6XNT6CXY3NS238ZYS7E",
      "AGE-SECRET-KEY-18PJLUM50XJEDY3AL49PR9G6VMPP85DDXQMJTGJT6XNT6CXY3NS238ZYS7E" },
    { "grafana-token", "glsa_i4sMEn23XGt1CqGqOlDsjmvGiZGoNwMH_27d40ac2",
      "glsa_i4sMEn23XGt1CqGqOlDsjmvGiZGoNwMH_27d40ac2" },
    { "sentry-token", "sntrys_aBfBDgfam37fXptmhjUqTtl0JRPmfNhub91ntzvGcCP9qEINwnwicSuS6J8R",
      "sntrys_aBfBDgfam37fXptmhjUqTtl0JRPmfNhub91ntzvGcCP9qEINwnwicSuS6J8R" },
    { "linear-key", "lin_api_6o2nZZOHMBTE9kMwJlUH2ZItbbMLwjiBceIu9RJs",
      "lin_api_6o2nZZOHMBTE9kMwJlUH2ZItbbMLwjiBceIu9RJs" },
    { "doppler-token", "dp.pt.1xlJvS9XSgUJscQ6vBmOkclOfEzB3IIyxLP17yqg6nX",
      "dp.pt.1xlJvS9XSgUJscQ6vBmOkclOfEzB3IIyxLP17yqg6nX" },
    { "bearer-token", "Authorization: Bearer bgsYlV-vsSKuvinX.zMqf9OgXluCZz8xBfZuXTpt",
      "bgsYlV-vsSKuvinX.zMqf9OgXluCZz8xBfZuXTpt" },
    { "http-basic-auth", "Authorization: Basic ZGVwbG95OldxOCF6UDJtI0xyNQ==",
      "ZGVwbG95OldxOCF6UDJtI0xyNQ==" },
    { "stripe-test-key", "sk_test_ljENUhJduRHHJEYXg4Jdpmrc", "sk_test_ljENUhJduRHHJEYXg4Jdpmrc" },
    { "cli-password-flag", "mysql -u root -p'Vq7#Lr2xWm9' shop", "Vq7#Lr2xWm9" },
    { "mysql-password-flag", "mysqldump -u backup -pVq7Lr2xWm9 shop", "Vq7Lr2xWm9" },
    { "cli-login-password", "docker login -u ci -p 'Tz4!mK8qPw2' reg.acme-corp.com", "Tz4!mK8qPw2" },
    { "cli-user-password", "curl -u admin:'Hb3^nQ7vLp' https://ci.acme-corp.com/", "Hb3^nQ7vLp" },
    { "netrc-password", "machine git.acme-corp.com login bob password Jw5nX8cVq2L", "Jw5nX8cVq2L" },
    { "call-password-argument", "server.login(\"bot@acme-corp.com\", \"Mv9!kR3tLz\")", "Mv9!kR3tLz" },
    { "prose-password", "the box is up: user deploy, password Nr6!xT4qZm.", "Nr6!xT4qZm" },
    { "prose-account-password", "staging: user alice / s3cr3t-Pass!", "s3cr3t-Pass!" },
    { "aws-secret-beside-key-id",
      "new BasicAWSCredentials(\"AKIAZ3MJQW7XK4RTLP2B\", \"9dJkL2mN4pQ7rS1tU8vW3xY6zA0bC5dE7fG9hI2j\")",
      "9dJkL2mN4pQ7rS1tU8vW3xY6zA0bC5dE7fG9hI2j" },
    { "vendor-hex-key", "client = algoliasearch('H7KQ2ZP4WD', 'e3b19c4f2a7d8e6b5c0f1a9d3e7b2c48')",
      "e3b19c4f2a7d8e6b5c0f1a9d3e7b2c48" },
    { "private-key-base64",
      "client-key-data: LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUJrZzNYcTlMdzJQejhtTjR2UjcKLS0tLS1FTkQgRUMgUFJJVkFURSBLRVktLS0tLQo=",
      "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUJrZzNYcTlMdzJQejhtTjR2UjcKLS0tLS1FTkQgRUMgUFJJVkFURSBLRVktLS0tLQo=" },
    { "cli-keystore-password", "keytool -list -keystore a.jks -storepass Ks5^wM9pQz", "Ks5^wM9pQz" },
    { "cli-client-password", "redis-cli -a 'Rd7!kQ2mWz' ping", "Rd7!kQ2mWz" },
    { "stdin-password", "echo 'Ec5!rT9yUi' | sudo -S true", "Ec5!rT9yUi" },
    { "dsn-password", "\"app:Go9!kT5vQz@tcp(db:3306)/shop\"", "Go9!kT5vQz" },
    { "base64-credentials", "\"auth\": \"ZGVwbG95OlB6OCFxVzNlUnQ=\"", "ZGVwbG95OlB6OCFxVzNlUnQ=" },
    { NULL, NULL, NULL }
};

static void rule_has_case(void *baton, const char *rule_id, const char *type,
                          llm_category_e cat)
{
    int i;

    (void)baton;
    (void)type;
    (void)cat;
    for (i = 0; rule_cases[i].rule; i++) {
        if (!strcmp(rule_cases[i].rule, rule_id)) {
            return;
        }
    }
    ck_abort_msg("built-in rule %s has no case in rule_cases", rule_id);
}

START_TEST(every_rule_has_a_case)
{
    int i;

    llm_scan_rules_visit(rules, rule_has_case, NULL);
    for (i = 0; rule_cases[i].rule; i++) {
        has(rule_cases[i].text, rule_cases[i].rule, rule_cases[i].value);
    }
}
END_TEST

/* Escape text that ends in a letter or hex digit: JSON inside a string,
 * logs and source code, URL-encoded text (issue 10, item 1). */
static const char *const escapes[] = {
    "\\n", "\\t", "\\r", "\\b", "\\f", "\\u003e", "\\x3d",
    "%2F", "%3D", "%3A", "%2f", "%252F",
    /* found by review: C octal and NUL, \U, %u, an encoded backslash
     * escape, quoted-printable, HTML character references */
    "\\012", "\\0", "\\v", "\\U0000000a", "%u000A", "%5Cn", "=3D",
    "&#10", "&#x0a", NULL
};

/* The case's text with ins put right where rule's match starts (its first
 * anchor less the rule's look-back). */
static char *insert_at_anchor(int ri, const char *text, const char *ins)
{
    const llm_scan_rule_t *r = LLM_RULE(rules, ri);
    const char *s = r->anchors, *e, *best = NULL, *hit;

    while (s && *s) {
        e = strchr(s, '|');
        if (!e) {
            e = s + strlen(s);
        }
        hit = strstr(text, apr_pstrmemdup(pool, s, (apr_size_t)(e - s)));
        if (hit && (!best || hit < best)) {
            best = hit;
        }
        s = *e ? e + 1 : e;
    }
    ck_assert_msg(best != NULL, "no anchor of %s in '%s'", r->id, text);
    best -= r->back;
    return apr_psprintf(pool, "%.*s%s%s", (int)(best - text), text, ins,
                        best);
}

/* text must yield a finding of type whose value is exactly value (by
 * rule, or by another rule of the same type that sees it first) */
static void has_typed(const char *text, const char *rule, const char *type,
                      const char *value)
{
    apr_array_header_t *out = scan(text);
    size_t vl = strlen(value);
    int i;

    for (i = 0; i < out->nelts; i++) {
        llm_scan_match_t *m = &APR_ARRAY_IDX(out, i, llm_scan_match_t);
        if (!strcmp(m->type, type) && m->length == vl
            && !memcmp(text + m->offset, value, vl)) {
            return;
        }
    }
    ck_abort_msg("no %s (%s) '%s' in '%s'; got:%s", rule, type, value, text,
                 describe(text, out));
}

/* Every prefix-anchored rule (the left-bounded pattern rules, whatever
 * rules are added) finds its case's value right after each escape, and
 * still not glued to a word: "lognAKIA..." is no key id. */
START_TEST(left_boundary_after_escapes)
{
    int i, ri, k, tested = 0;

    for (ri = LLM_R_NCODE; ri < rules->rules->nelts; ri++) {
        const llm_scan_rule_t *r = LLM_RULE(rules, ri);
        /* rules whose regex opens with a lookbehind of its own (a flag
         * must follow a blank or a quote, as the shell wants) decide
         * their left edge themselves */
        if (!r->builtin || !(r->flags & LLM_RF_BOUND_LEFT)
            || (r->pattern && !strncmp(r->pattern, "(?<", 3))) {
            continue;
        }
        for (i = 0; rule_cases[i].rule; i++) {
            if (!strcmp(rule_cases[i].rule, r->id)) {
                break;
            }
        }
        ck_assert_msg(rule_cases[i].rule != NULL, "%s has no case", r->id);
        /* the escape alone: it ends in a letter or digit, and the rest
         * of the case (a command before a flag) stays as it was */
        for (k = 0; escapes[k]; k++) {
            has_typed(insert_at_anchor(ri, rule_cases[i].text, escapes[k]),
                      r->id, r->type, rule_cases[i].value);
        }
        {
            const char *glued = insert_at_anchor(ri, rule_cases[i].text,
                                                 "n");
            apr_array_header_t *out = scan(glued);
            for (k = 0; k < out->nelts; k++) {
                ck_assert_msg(strcmp(APR_ARRAY_IDX(out, k, llm_scan_match_t)
                                         .rule, r->id) != 0,
                              "%s found glued to a word in '%s'", r->id,
                              glued);
            }
        }
        tested++;
    }
    ck_assert_int_ge(tested, 30);

    /* the recognisers and the rest of the left edges */
    for (k = 0; escapes[k]; k++) {
        const char *e = escapes[k];
        has(apr_pstrcat(pool, "tok", e, "eyJhbGciOiAiSFMyNTYifQ."
                        "eyJzdWIiOiAidS04MjMxIn0.PiYGFDm7ena8D5VfLDpgyyjVw5",
                        NULL),
            "jwt", "eyJhbGciOiAiSFMyNTYifQ.eyJzdWIiOiAidS04MjMxIn0."
                   "PiYGFDm7ena8D5VfLDpgyyjVw5");
        has(apr_pstrcat(pool, "env", e, "DB_PASSWORD=hunter2rocks", NULL),
            "password-assignment", "hunter2rocks");
        has(apr_pstrcat(pool, "env", e, "API_KEY=xYYMfGmzWkpAePcEJIukB4geqNfngAFT",
                        NULL),
            "generic-secret-assignment", "xYYMfGmzWkpAePcEJIukB4geqNfngAFT");
        has(apr_pstrcat(pool, "x", e, "-----BEGIN EC PRIVATE KEY-----\\n"
                        "MHcCAQEEIBkg3Xq9Lw2Pz8mN4vR7\\n-----END EC PRIVATE "
                        "KEY-----", NULL),
            "private-key-ec", "-----BEGIN EC PRIVATE KEY-----\\n"
            "MHcCAQEEIBkg3Xq9Lw2Pz8mN4vR7\\n-----END EC PRIVATE KEY-----");
        has(apr_pstrcat(pool, "u", e, "postgres://app:Rk9xLw2Pq@db.internal/x",
                        NULL),
            "connection-string-password", "Rk9xLw2Pq");
    }
    /* numbers right after "\n", "\t", "\r" written out (a log inside a
     * JSON string); a letter glued to a number stays a word */
    {
        static const char *const esc3[] = { "\\n", "\\t", "\\r", NULL };
        for (k = 0; esc3[k]; k++) {
            has(apr_pstrcat(pool, "{\"log\":\"paid", esc3[k],
                            "4787 7893 2879 2170\"}", NULL),
                "credit-card", "4787 7893 2879 2170");
            has(apr_pstrcat(pool, "ssn", esc3[k], "536-22-1947", NULL),
                "us-ssn", "536-22-1947");
            has(apr_pstrcat(pool, "from", esc3[k], "34.117.59.81 x", NULL),
                "ipv4-public", "34.117.59.81");
        }
        none("paidn4787 7893 2879 2170", "CREDIT_CARD");
        none("uint64 int32 sha256 base64 h264", NULL);
    }
    /* a JWT glued to base64url text is part of something else */
    none("tokeneyJhbGciOiAiSFMyNTYifQ.eyJzdWIiOiAidS04MjMxIn0."
         "PiYGFDm7ena8D5VfLDpgyyjVw5", "JWT");
}
END_TEST

/* Whole-word admin keywords start after an escape too. */
START_TEST(keywords_after_escapes)
{
    apr_pool_t *p;
    llm_scan_rules_t *rs;
    apr_array_header_t *out;
    const char *words[] = { "falcon" };
    int k;

    apr_pool_create(&p, pool);
    rs = llm_scan_rules_create(p, 0);
    ck_assert_ptr_null(llm_scan_rules_add_keywords(rs, "CODENAME", "codenames",
                                                   words, 1, LLM_CAT_CONTENT));
    ck_assert_ptr_null(llm_scan_rules_compile(rs));
    for (k = 0; escapes[k]; k++) {
        const char *t = apr_pstrcat(p, "see", escapes[k], "falcon now", NULL);
        out = apr_array_make(p, 4, sizeof(llm_scan_match_t));
        ck_assert_int_eq(llm_scan_text(rs, t, strlen(t), p, out), 1);
    }
    out = apr_array_make(p, 4, sizeof(llm_scan_match_t));
    ck_assert_int_eq(llm_scan_text(rs, "seenfalcon", 10, p, out), 0);
    apr_pool_destroy(p);
}
END_TEST

/* Every placeholder word turns a token-shaped value into a non-finding;
 * keeps allow.c's lists and its first-character switch in step. */
START_TEST(placeholder_words)
{
    static const char *const words[] = {
        "your-", "your_", "yourkey", "-here", "_here", "replace", "changeme",
        "change_me", "change-me", "placeholder", "redacted", "example",
        "notreal", "not-real", "not_real", NULL
    };
    static const char *const weak[] = {
        "dummy", "sample", "insert", "xxxx", "todo", "fixme", "fake", NULL
    };
    char buf[256];
    int i;

    for (i = 0; words[i]; i++) {
        snprintf(buf, sizeof(buf), "API_KEY=\"Ab3dE9xYz1%sQw8rT5uVk2\"", words[i]);
        none(buf, NULL);
        snprintf(buf, sizeof(buf), "ghp_%sAb3dE9xYz1Qw8rT5uVk2Lm4Np6Rs8Tu0Wx2Yz4Ab6Cd8",
                 words[i]);
        buf[40] = '\0';
        if (strspn(buf + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == 36) {
            none(buf, NULL);
        }
    }
    /* Short words: standing alone, or twice, they mark a placeholder;
     * inside key material they are chance and the key is reported. */
    for (i = 0; weak[i]; i++) {
        snprintf(buf, sizeof(buf), "API_KEY=\"Ab3dE9xYz1-%s-Qw8rT5uVk2\"", weak[i]);
        none(buf, NULL);
        snprintf(buf, sizeof(buf), "API_KEY=\"%s_Ab3dE9xYz1Qw8rT5uVk2%s\"",
                 weak[i], weak[i]);
        none(buf, NULL);
    }
    has("token ghp_LogImboToDO3dhpN2hmEQFUfsy0HaXDsYYhr end",
        "github-pat-classic", "ghp_LogImboToDO3dhpN2hmEQFUfsy0HaXDsYYhr");
    has("token ghp_KXXXX59oSCX3L69oApFZYRXvD0pBPHi7INWp end",
        "github-pat-classic", "ghp_KXXXX59oSCX3L69oApFZYRXvD0pBPHi7INWp");
    has("my key is AKIAVI4B6JHVIPIHFAKE ok", "aws-access-key-id",
        "AKIAVI4B6JHVIPIHFAKE");
    none("my key is AKIAFAKEFAKEFAKEFAKE ok", NULL);
    has("API_KEY=\"Ab3dE9xYz1Qw8rT5uVk2Lm4Np6\"", "generic-secret-assignment",
        "Ab3dE9xYz1Qw8rT5uVk2Lm4Np6");
}
END_TEST

/* Random key material is never taken for a placeholder: 100,000 GitHub
 * tokens and AWS key ids from a fixed generator (before the short words
 * were bounded, 1 in ~9,000 GitHub tokens was let through). */
START_TEST(random_keys_are_not_placeholders)
{
    static const char b62[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    unsigned long long x = 0x9e3779b97f4a7c15ULL;
    unsigned char v[64];
    int i, k, missed = 0;

    for (i = 0; i < 100000; i++) {
        memcpy(v, "ghp_", 4);
        for (k = 0; k < 36; k++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            v[4 + k] = (unsigned char)b62[(x >> 33) % 62];
        }
        missed += llm_scan_is_placeholder(v, 40);
        memcpy(v, "AKIA", 4);
        for (k = 0; k < 16; k++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            v[4 + k] = (unsigned char)b32[(x >> 33) % 32];
        }
        missed += llm_scan_is_placeholder(v, 20);
    }
    ck_assert_int_eq(missed, 0);
}
END_TEST

START_TEST(more_vendor_negatives)
{
    none("locale en-us and key-value store; dapi is an API", NULL);
    none("hvs.short and sq0atp-x and PMAK-abc", NULL);
    none("the glc_ prefix; lin_api_ keys; AGE-SECRET-KEY-1 starts an age key", NULL);
}
END_TEST


START_TEST(passwords_in_commands)
{
    has("$ mysql -u root -p\"Vq7#Lr2xWm9\" -h db shop", "cli-password-flag", "Vq7#Lr2xWm9");
    has("psql --username etl --password 'Gk8mW2zRt5Q' -h db", "cli-password-flag", "Gk8mW2zRt5Q");
    has("mysql -h db.internal -u app \\\n  -pVq7Lr2xWm9 shop", "mysql-password-flag", "Vq7Lr2xWm9");
    has("sshpass -p Wd3^kP9sQz ssh ops@10.0.0.5", "cli-login-password", "Wd3^kP9sQz");
    has("mongosh \"mongodb://db:27017\" -u admin -p 'Mn4$xQ8zWp' --authenticationDatabase admin",
        "cli-login-password", "Mn4$xQ8zWp");
    has("mongodump --host db -u backup -p Bk7!xQ2mZw --out /srv/dump", "cli-login-password",
        "Bk7!xQ2mZw");
    has("rabbitmqadmin -u ops -p 'Rb5!kQ8xWz' list queues", "cli-login-password", "Rb5!kQ8xWz");
    /* pw as a name: only its last word */
    has("staging db\npw: Xq7!mZ2wLp\n", "password-assignment", "Xq7!mZ2wLp");
    has("DB_PW=Rt5kQ9xWm2 ./migrate", "password-assignment", "Rt5kQ9xWm2");
    none("pw = pwd.getpwnam(user); name = pw.pw_name; pw_dir = '/home/x'\n// pw : https://en.wikipedia.org/wiki/.pw\nupward trend", NULL);
    none("mongosh -u admin -p --authenticationDatabase admin; mongodump -p \"$MONGO_PW\"", NULL);
    has("curl -s --user \"ci-bot:Hb3^nQ7vLp\" https://nexus.acme-corp.com/", "cli-user-password",
        "Hb3^nQ7vLp");
    has("curl -u admin:Hb3nQ7vLpX https://ci.acme-corp.com/", "cli-user-password", "Hb3nQ7vLpX");
    /* prompts, variables, ports, other flags */
    none("mysql -u root -p -h db.internal shop", NULL);
    none("mysql -u app -p\"$DB_PASS\" -P 3306 shop", NULL);
    none("echo \"$T\" | docker login -u ci --password-stdin reg.acme-corp.com", NULL);
    none("docker run -p 8080:80 -p '8443:443' nginx", NULL);
    none("curl -u \"$API_USER:$API_PASS\" https://api.acme-corp.com/", NULL);
    none("curl -u admin https://ci.acme-corp.com/ && mkdir -p '/srv/www'", NULL);
    none("psql --password \"${PGPASSWORD}\" and --password <password>", NULL);
    has("redis-cli -h cache.internal -a 'Rd7!kQ2mWz' ping", "cli-client-password", "Rd7!kQ2mWz");
    has("ldapsearch -x -D \"cn=admin,dc=acme\" -w Lw3^pN8qXc -b dc=acme", "cli-client-password",
        "Lw3^pN8qXc");
    has("sqlcmd -S db -U sa -P \"Sq9@mV4xKp\" -Q \"select 1\"", "cli-client-password", "Sq9@mV4xKp");
    has("smbclient //fs01/share -U backup%Sb6!tR2wLq", "cli-client-password", "Sb6!tR2wLq");
    has("openssl pkcs12 -in a.p12 -passin pass:Op4@xN7vLm -nodes", "cli-keystore-password",
        "Op4@xN7vLm");
    /* the same letters in other commands, and variables */
    none("ls -a /tmp; git commit -a -m \"fix it\"; grep -w foo x; mysql -P 3306 -u x -p", NULL);
    none("redis-cli -a \"$REDIS_PASSWORD\" ping; ldapsearch -w secretfile -b x", NULL);
    /* quoted flags in prose and argument parsers (found in release notes
     * and the Python library) */
    none("   \"git stash -p\" as if it were \"git stash push -p\", but it was", NULL);
    none("parser.add_argument('-p', metavar='PREPENDDIR',  dest='prependdir',", NULL);
    none("* \"git-add -p\" lacked a way to say \"q\"uit to refuse staging", NULL);
    none("        --username and --password options instead of via the URL.", NULL);
}
END_TEST

START_TEST(netrc_lines)
{
    /* one line, several lines, line numbers of cat -n and of a file view */
    has("machine api.acme-corp.com login deploy password Gk8mW2zRt5Q\n",
        "netrc-password", "Gk8mW2zRt5Q");
    has("     1\tmachine api.acme-corp.com\n     2\t  login deploy\n     3\t  password Gk8mW2zRt5Q\n",
        "netrc-password", "Gk8mW2zRt5Q");
    has("  7\xe2\x86\x92machine r.acme-corp.com\n  8\xe2\x86\x92  login ci\n  9\xe2\x86\x92  password Jw5nX8cVq2L\n",
        "netrc-password", "Jw5nX8cVq2L");
    has("default login anonymous password Zq4!mW8x", "netrc-password", "Zq4!mW8x");
    none("the machine learning login page asks for a password again", NULL);
    none(" * @cryptoAppDefaultPwdCallback:the default password callback.", NULL);
    none("machine example.com\nlogin daniel\npassword qwerty\n", NULL);
    none("machine api.acme-corp.com login deploy password ${NETRC_PW}", NULL);
}
END_TEST

START_TEST(passwords_by_position)
{
    has("conn.simple_bind_s(\"cn=admin,dc=acme,dc=com\", \"Qp4#wN8zXc\")",
        "call-password-argument", "Qp4#wN8zXc");
    has("db = pymysql.connect('db.internal', 'etl', 'Rz2!pL9vKw', 'shop')",
        "call-password-argument", "Rz2!pL9vKw");
    has("ssh.connect('10.0.0.5', 22, 'ops', 'Wd3^kP9sQz')", "call-password-argument",
        "Wd3^kP9sQz");
    has("cx_Oracle.connect(\"scott\", \"Tg7!rW2qLp\", \"orahost/XE\")",
        "call-password-argument", "Tg7!rW2qLp");
    has("DriverManager.getConnection(url, \"app\", \"Hx7!mQ2pZr\");", "call-password-argument",
        "Hx7!mQ2pZr");
    has("new PasswordAuthentication(\"u\", \"Hx7!mQ2pZr\".toCharArray())",
        "call-password-argument", "Hx7!mQ2pZr");
    has("requests.get(u, auth=(\"svc\", \"Kp2@xW9qLm\"))", "call-password-argument", "Kp2@xW9qLm");
    has("new NetworkCredential(\"mailer\", \"Lc8^vB3nMx\")", "call-password-argument", "Lc8^vB3nMx");
    has("jedis.auth(\"Ja3!xQ7vNm\");", "call-password-argument", "Ja3!xQ7vNm");
    none("firebase.auth().signInWithEmailAndPassword(email, pw); app.auth(token)", NULL);
    has("echo 'Ec5!rT9yUi' | sudo -S apt-get update", "stdin-password", "Ec5!rT9yUi");
    has("sudo -S <<< \"Su6^tY2uIo\" systemctl restart app", "stdin-password", "Su6^tY2uIo");
    has("echo 'Dk7^mW3qZx' | docker login -u ci --password-stdin reg.acme-corp.com",
        "stdin-password", "Dk7^mW3qZx");
    has("echo 'deploy:Cp8!vN2wQs' | sudo chpasswd", "stdin-password", "Cp8!vN2wQs");
    has("echo 'Cp8!vN2wQs' | passwd --stdin deploy", "stdin-password", "Cp8!vN2wQs");
    none("echo \"$PW\" | sudo -S true; cat pw.txt | sudo -S true", NULL);
    none("echo \"$CR_PAT\" | docker login ghcr.io -u x --password-stdin", NULL);
    has("sql.Open(\"mysql\", \"app:Go9!kT5vQz@tcp(db:3306)/shop\")", "dsn-password", "Go9!kT5vQz");
    has("ssh-keygen -t ed25519 -N 'Sk4^pL8wQz' -f id", "cli-client-password", "Sk4^pL8wQz");
    none("ssh-keygen -t ed25519 -N '' -f id; sql.Open(\"mysql\", dsn)", NULL);
    has("auth := smtp.PlainAuth(\"\", \"bot@acme-corp.com\", \"Vb6@pQ9zLx\", \"smtp.acme-corp.com\")",
        "call-password-argument", "Vb6@pQ9zLx");
    /* variables, environment, definitions, sockets, templates */
    none("server.login(user, password)", NULL);
    none("server.login(os.environ['SMTP_USER'], os.environ['SMTP_PASSWORD'])", NULL);
    none("def login(self, user, password):\n    return self.s.login(user, password)", NULL);
    none("sock.connect((\"db.internal\", 3306))", NULL);
    none("pymysql.connect(host, user, password, \"shop\")", NULL);
    none("server.login(\"bot\", f\"{prefix}{suffix}\")", NULL);
    none("client.connect('a', 'b', 'c')", NULL);
}
END_TEST

START_TEST(passwords_in_prose)
{
    has("The staging box: user deploy, password Nr6!xT4qZm.", "prose-password", "Nr6!xT4qZm");
    has("the login is admin and the password is `Zx8^wQ3mKp`", "prose-password", "Zx8^wQ3mKp");
    has("Your password is Kq7#Lm2xWv9z", "prose-password", "Kq7#Lm2xWv9z");
    has("the password for the db is Kq7#Lm2xWv9z", "prose-password", "Kq7#Lm2xWv9z");
    has("I reset your password to Fb8@kL3mNq, please change it", "prose-password",
        "Fb8@kL3mNq");
    has("Das Passwort ist Gk8mW2zRt5Q, bitte nicht teilen", "prose-password", "Gk8mW2zRt5Q");
    has("Credentials: admin / Rz2!pL9vKw", "password-assignment", "Rz2!pL9vKw");
    has("credentials: deploy:Qm4^tV8xLp for the box", "password-assignment", "Qm4^tV8xLp");
    none("Credentials: see the vault / ask ops. credentials: ${CREDS}", NULL);
    none("the password to use is in the vault; the password for root is rotated", NULL);
    none("pass the password to the helper: it hashes it", NULL);
    none("Reset the password: click the link. The password must have 12 characters.", NULL);
    none("user guide: the password reset link expires after 24 hours", NULL);
    none("the password is strong; user accounts are locked after 5 tries", NULL);
    none("postgres://user:password@localhost/db", NULL);
    none("username, have_password, password = userinfo.partition(':')", NULL);
    none("user, password = HTTPPasswordMgr.find_user_password(self, realm,", NULL);
}
END_TEST

/* An account and its password with no word for password: found where
 * the value is plainly one; names, versions, paths, pages and words
 * joined are not. */
START_TEST(accounts_in_prose)
{
    has("staging: user alice / s3cr3t-Pass!", "prose-account-password", "s3cr3t-Pass!");
    has("User: deploy / Nr6!xT4qZm (rotate monthly)", "prose-account-password", "Nr6!xT4qZm");
    has("login: ops-bot, Kq7#Lm2xWv9z", "prose-account-password", "Kq7#Lm2xWv9z");
    has("you can sign in as admin with Zx8^wQ3mKp now", "prose-account-password", "Zx8^wQ3mKp");
    has("sign in as qa@acme-corp.com with 'Wd3^kP9s Qz1'", "prose-account-password", "Wd3^kP9s Qz1");
    has("account svc_backup | Hb3nQ7vLp2xZ", "prose-account-password", "Hb3nQ7vLp2xZ");
    has("Benutzer: anna / Gk8mW2z!Rt", "prose-account-password", "Gk8mW2z!Rt");
    none("The user guide / FAQ-2024 covers login problems.", NULL);
    none("user alice, please review PR-1234 before Friday.", NULL);
    none("login: alice / see the 1Password entry 'Staging DB'", NULL);
    none("user root / uid 0, group wheel", NULL);
    none("username / password fields are validated on the client", NULL);
    none("cd /home/user alice/projects/api-v2.1", NULL);
    none("Login / Sign-up page redesign (v2.3-rc1)", NULL);
    none("user: jdoe | role: admin | last login: 2024-05-01T10:22:03Z", NULL);
    none("account svc-deploy, created 2024-05-01 by ops-bot", NULL);
    none("user alice / Group-Admins-2024 and account bob / release-v1.2.3-beta", NULL);
    none("user_id / 3f2b9c1e7a4d, user.name and userInfo / Xk9mP2vLq7", NULL);
    none("login alice@acme-corp.com / SSO only, account 48213 with ID-77821-B", "PASSWORD");
    none("user alice / $DB_PASSWORD and account bob / ${BOB_PW}", NULL);
    none("user admin with sha256:9f86d081884c7d65 key", NULL);
}
END_TEST

START_TEST(aws_secret_by_position)
{
    has("credentials.NewStaticCredentials(\"AKIAZ3MJQW7XK4RTLP2B\", \"tKZODgUxf+KspWsUQTqqbOxeOn4Isla3a1yuZTIB\", \"\")",
        "aws-secret-beside-key-id", "tKZODgUxf+KspWsUQTqqbOxeOn4Isla3a1yuZTIB");
    has("IAM user: AKIAZ3MJQW7XK4RTLP2B / tKZODgUxf+KspWsUQTqqbOxeOn4Isla3a1yuZTIB",
        "aws-secret-beside-key-id", "tKZODgUxf+KspWsUQTqqbOxeOn4Isla3a1yuZTIB");
    /* a commit id beside a key id is not its secret */
    none("AKIAZ3MJQW7XK4RTLP2B rotated in 9fceb02d0ae598e95dc970b74767f19372d61af8", "AWS_SECRET_KEY");
}
END_TEST

START_TEST(vendor_hex_keys)
{
    has("# Algolia admin key, indexing only\nclient = SearchClient.create(\"H7KQ2ZP4WD\", \"e3b19c4f2a7d8e6b5c0f1a9d3e7b2c48\")",
        "vendor-hex-key", "e3b19c4f2a7d8e6b5c0f1a9d3e7b2c48");
    /* no vendor named, or not passed to a call */
    none("integrity = { main: 'e3b19c4f2a7d8e6b5c0f1a9d3e7b2c48' }", NULL);
    none("md5('e3b19c4f2a7d8e6b5c0f1a9d3e7b2c48')", NULL);
}
END_TEST

/* Every vendor of the table, named in a comment or in an identifier a few
 * lines from the call, the key by position, one line or several; and
 * the 32-hex values that are not keys next to the same names. */
START_TEST(vendor_hex_table)
{
    static const char *const vendors[] = {
        "Algolia", "Twilio", "Mailgun", "Rollbar", "Pusher", "Datadog",
        "Bugsnag", "Mixpanel", "Amplitude", "Braintree", "Spotify", "Flickr",
        "LastFM", "Last.fm", "OpenWeather", "NewsAPI", "AssemblyAI",
        "Airbrake", "LogDNA", "Trello", "TMDB", "ElevenLabs", NULL
    };
    const char *key = "7c1e9a4f2b8d3e60a5f7c2b9d4e1a8f3";
    char buf[512], id[64];
    int i;
    size_t k, j;

    for (i = 0; vendors[i]; i++) {
        snprintf(buf, sizeof(buf), "# %s API key for the nightly job\n"
                 "client = make_client(\"acct-7\", \"%s\")\n", vendors[i], key);
        has(buf, "vendor-hex-key", key);
        /* the name in an identifier, the call over three lines */
        for (k = 0, j = 0; vendors[i][j] && k < sizeof(id) - 8; j++) {
            if (vendors[i][j] != '.') {
                id[k++] = vendors[i][j];
            }
        }
        memcpy(id + k, "Client", 7);
        snprintf(buf, sizeof(buf), "const c = new %s(\n    'acct-7',\n    '%s'\n);",
                 id, key);
        has(buf, "vendor-hex-key", key);
    }
    /* digests, ids and compared values beside a vendor's name */
    none("# datadog-agent 7.50.3\nverify_md5(\"datadog-agent.deb\", \"7c1e9a4f2b8d3e60a5f7c2b9d4e1a8f3\")", NULL);
    none("// mixpanel\nmixpanel.track(\"7c1e9a4f2b8d3e60a5f7c2b9d4e1a8f3\", \"Signed Up\")", NULL);
    none("# amplitude\nuser = User(uuid.UUID(\"7c1e9a4f2b8d3e60a5f7c2b9d4e1a8f3\"))", NULL);
    none("// twilio webhook\nassert.equal(hash(body), \"7c1e9a4f2b8d3e60a5f7c2b9d4e1a8f3\")", NULL);
    none("# spotify\netag = cache.get(\"7c1e9a4f2b8d3e60a5f7c2b9d4e1a8f3\")", NULL);
    none("// algolia\nconst sum = checksum('7c1e9a4f2b8d3e60a5f7c2b9d4e1a8f3', data)", NULL);
    none("// datadog trace\nspan = tracer.start(\"7c1e9a4f2b8d3e60a5f7c2b9d4e1a8f3\")", NULL);
    none("# trello\nget_card(\"0x7c1e9a4f2b8d3e60a5f7c2b9d4e1a8f3\")", NULL);
    /* names the anchors share a pair with: no vendor */
    none("log.info(\"7c1e9a4f2b8d3e60a5f7c2b9d4e1a8f3\")  # include, notify, fail", NULL);
    none("hello(\"7c1e9a4f2b8d3e60a5f7c2b9d4e1a8f3\") # allow all", NULL);
}
END_TEST

START_TEST(false_alarms_of_issue_12)
{
    /* barcodes in product data share length, prefix and Luhn with cards */
    none("sku,name,ean,price\nWID-1,Widget,4005360405232,9.99\n", NULL);
    none("{\"sku\": \"A-22\", \"gtin\": \"4014103806854\"}", NULL);
    none("sku,title,gtin14\nA-1,Cable,36601328225233\n", NULL);
    /* ... unless it is said to be a card */
    has("credit card: 4005360405232", "credit-card", "4005360405232");
    /* references and masks */
    none("DB_PASSWORD = env('DB_PASSWORD', default='')", NULL);
    none("SECRET_KEY = env(\"DJANGO_SECRET_KEY\", default=None)", NULL);
    none("password = os.getenv(\"DB_PASS\")\nPASSWORD: ${DB_PASSWORD}", NULL);
    none("git remote set-url origin https://x-access-token:***@github.com/acme/shop.git", NULL);
    none("password: \"****\"\napi_key: ****************", NULL);
    none("postgres://app:\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2@db:5432/app", NULL);
    /* a literal default is still a password */
    has("DB_PASSWORD = env('DB_PASSWORD', default='Tr0ub4dor^3x')", "password-assignment",
        "Tr0ub4dor^3x");
}
END_TEST

START_TEST(brazil_phones)
{
    has("celular (11) 98765-4321", "phone", "(11) 98765-4321");
    has("TEL;TYPE=CELL:(21) 99876-5432\n", "phone", "(21) 99876-5432");
    has("TEL;TYPE=WORK:+55 (31) 3456-7890\n", "phone", "+55 (31) 3456-7890");
    has("TEL;TYPE=CELL:11 98765-4321\n", "phone", "11 98765-4321");
    has("whatsapp 11 98765-4321", "phone", "11 98765-4321");
    has("celular: 21 99876-5432.", "phone", "21 99876-5432");
    has("EMAIL;TYPE=INTERNET:mariana.costa@costa-arquitetura.com.br\n", "email",
        "mariana.costa@costa-arquitetura.com.br");
    none("pedido (12) itens, versao (1.2) de 2024-05-01, sala (3) 101-202", NULL);
    none("(10) 98765-4321 and (11) 18765-4321", NULL);
}
END_TEST

/* Decoded views: findings cover the raw bytes, invisible ones and escapes
 * included, so that redaction leaves no piece of the value behind. */
START_TEST(decoded_views)
{
    /* U+2060 inside an address: the whole address, not its tail */
    has("mail jo\xe2\x81\xa0hn.doe@acme-corp.com now", "email",
        "jo\xe2\x81\xa0hn.doe@acme-corp.com");
    /* U+200B inside a token, U+00AD and U+FEFF too */
    has("token ghp_u8jzPde0Igx\xe2\x80\x8bLd6GncfBAepfJBd0Kh8oOOL8d end", "github-pat-classic",
        "ghp_u8jzPde0Igx\xe2\x80\x8bLd6GncfBAepfJBd0Kh8oOOL8d");
    has("AKIAZ3MJ\xc2\xadQW7XK4RTLP2B", "aws-access-key-id", "AKIAZ3MJ\xc2\xadQW7XK4RTLP2B");
    has("AKIAZ3MJQW7X\xef\xbb\xbfK4RTLP2B", "aws-access-key-id", "AKIAZ3MJQW7X\xef\xbb\xbfK4RTLP2B");
    /* percent-encoding, once, twice, every character */
    has("GET /signup?email=jane.roe%40globex-payments.io&x=1", "email",
        "jane.roe%40globex-payments.io");
    has("next=%2Fhome%3Fuser%3Djane.roe%2540globex-payments.io", "email",
        "jane.roe%2540globex-payments.io");
    has("k=%73%6b%5f%6c%69%76%65%5f%30%33%6e%62%71%6e%73%47%70%57%4c%75%71%49%41%31%69%64%36%56%77%35%44%51;",
        "stripe-live-key",
        "%73%6b%5f%6c%69%76%65%5f%30%33%6e%62%71%6e%73%47%70%57%4c%75%71%49%41%31%69%64%36%56%77%35%44%51");
    /* spaces and quotes escaped make no view; escapes of nothing secret
     * find nothing */
    none("GET /search?q=hello%20world%22x%22 200", NULL);
    none("path=%2Fusr%2Flocal%2Fbin and 100%25 done", NULL);
    /* a joiner between emoji is no secret either */
    none("team \xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb rocks", NULL);
}
END_TEST

/* The views are looked for in one pass over the text, sixteen bytes at a
 * time: an invisible character or an escape is found at every place
 * against those blocks, after ordinary characters that share its lead
 * byte (an em dash, a no-break space), and whichever of the two comes
 * first; and a lead byte in the last two bytes of a text is no view. */
START_TEST(decoded_views_every_alignment)
{
    char text[256], value[128];
    int pad, first;

    for (pad = 0; pad < 40; pad++) {
        for (first = 0; first < 2; first++) {
            snprintf(value, sizeof(value), "%s",
                     "ghp_u8jzPde0Igx\xe2\x80\x8bLd6GncfBAepfJBd0Kh8oOOL8d");
            snprintf(text, sizeof(text), "%*s%s \xe2\x80\x94\xc2\xa0 %s %s",
                     pad, "", first ? "q=%2Fa" : "-", value,
                     first ? "-" : "q=%2Fa");
            has(text, "github-pat-classic", value);
            snprintf(value, sizeof(value), "%s", "jane.roe%40globex-payments.io");
            snprintf(text, sizeof(text), "%*s\xe2\x80\x94%s %s \xef\xbb",
                     pad, "", first ? "\xc2\xad" : "", value);
            has(text, "email", value);
        }
    }
    none("x \xe2\x80", NULL);
    none("x \xc2", NULL);
}
END_TEST

/* base64 that decodes to text: the decoded type, over the whole run */
START_TEST(base64_views)
{
    has("{\"auths\": {\"registry.acme-corp.com\": {\"auth\": \"ZGVwbG95OlB6OCFxVzNlUnQ=\"}}}",
        "base64-credentials", "ZGVwbG95OlB6OCFxVzNlUnQ=");
    has("//registry.acme-corp.com/:_auth=ZGVwbG95OlB6OCFxVzNlUnQ=\n", "base64-credentials", "ZGVwbG95OlB6OCFxVzNlUnQ=");
    has("echo REJfUEFTU1dPUkQ9VHIwdWI0ZG9yXjN4Cg== | base64 -d > .env", "password-assignment", "REJfUEFTU1dPUkQ9VHIwdWI0ZG9yXjN4Cg==");
    has("base64 --decode <<< 'REJfUEFTU1dPUkQ9VHIwdWI0ZG9yXjN4Cg=='", "password-assignment", "REJfUEFTU1dPUkQ9VHIwdWI0ZG9yXjN4Cg==");
    has("payload: eyJ1c2VyIjogInN2YyIsICJwYXNzd29yZCI6ICJWYjZAcFE5ekx4In0=\n", "password-assignment", "eyJ1c2VyIjogInN2YyIsICJwYXNzd29yZCI6ICJWYjZAcFE5ekx4In0=");
    has("apiVersion: v1\ndata:\n  DATABASE_URL: cG9zdGdyZXM6Ly9hcHA6UXc3IXpYM2NWYkBkYjo1NDMyL3Nob3A=\n  username: c2hvcF9hcHA=\nkind: Secret\nmetadata:\n  name: shop\n",
        "connection-string-password", "cG9zdGdyZXM6Ly9hcHA6UXc3IXpYM2NWYkBkYjo1NDMyL3Nob3A=");
    /* kubectl get secret -o json: the data object comes before kind */
    has("{\n    \"apiVersion\": \"v1\",\n    \"data\": {\n        \"username\": \"c2hvcF9hcHA=\",\n        \"DATABASE_URL\": \"cG9zdGdyZXM6Ly9hcHA6UXc3IXpYM2NWYkBkYjo1NDMyL3Nob3A=\"\n    },\n    \"kind\": \"Secret\",\n    \"metadata\": {\"name\": \"shop\"}\n}\n",
        "connection-string-password", "cG9zdGdyZXM6Ly9hcHA6UXc3IXpYM2NWYkBkYjo1NDMyL3Nob3A=");
    /* a list of Secrets, JSON and YAML: the second one's data too */
    has("{\"items\": [{\"data\": {\"a\": \"c2hvcF9hcHA=\"}, \"kind\": \"Secret\"}, {\"data\": {\"REDIS_URL\": \"cmVkaXM6Ly86UmQ1bUsycFF6V0BjYWNoZTo2Mzc5LzA=\"}, \"kind\": \"Secret\"}], \"kind\": \"List\"}",
        "connection-string-password", "cmVkaXM6Ly86UmQ1bUsycFF6V0BjYWNoZTo2Mzc5LzA=");
    has("items:\n- data:\n    a: c2hvcF9hcHA=\n  kind: Secret\n- data:\n    REDIS_URL: cmVkaXM6Ly86UmQ1bUsycFF6V0BjYWNoZTo2Mzc5LzA=\n  kind: Secret\nkind: List\n",
        "connection-string-password", "cmVkaXM6Ly86UmQ1bUsycFF6V0BjYWNoZTo2Mzc5LzA=");
    /* base64 of things that are not secrets */
    none("apiVersion: v1\ndata:\n  username: c2hvcF9hcHA=\n  config: eyJ0aGVtZSI6ICJkYXJrIiwgInJldHJpZXMiOiAzLCAicmVnaW9uIjogImV1LXdlc3QtMSJ9\nkind: Secret\n", NULL);
    none("settings: eyJ0aGVtZSI6ICJkYXJrIiwgInJldHJpZXMiOiAzLCAicmVnaW9uIjogImV1LXdlc3QtMSJ9 and {\"auth\": \"bm9uZQ==\"}", NULL);
    /* a ConfigMap's base64 of harmless text */
    none("kind: ConfigMap\ndata:\n  NOTE: aHR0cHM6Ly9kb2NzLmFjbWUtY29ycC5jb20vcnVuYm9vay9yZXN0YXJ0cw==\n", NULL);
    none("{\"data\": {\"NOTE\": \"cG9zdGdyZXMgaXMgdGhlIGRhdGFiYXNlIG9mIHRoZSBzaG9w\"}, \"kind\": \"ConfigMap\"}", NULL);
}
END_TEST

/* base64 that begins as the base64 of a connection string, a token or a
 * .env line is read decoded wherever it stands: the finding has the
 * decoded value's type and covers the run */
START_TEST(base64_known_starts)
{
    has("DATABASE_URL_B64=cG9zdGdyZXM6Ly9hcHA6UGc4d1EzelhrQGRiOjU0MzIvYXBw\n", "connection-string-password", "cG9zdGdyZXM6Ly9hcHA6UGc4d1EzelhrQGRiOjU0MzIvYXBw");
    has("export CREDS=QVdTX0FDQ0VTU19LRVlfSUQ9QUtJQVE3WFoyTE1ONFBRUjVTVFUK", "aws-access-key-id", "QVdTX0FDQ0VTU19LRVlfSUQ9QUtJQVE3WFoyTE1ONFBRUjVTVFUK");
    has("token = base64.b64decode(\"Z2hwX0ExYjJDM2Q0RTVmNkc3aDhJOWowSzFsMk0zbjRPNXA2UTdyOA==\")", "github-pat-classic", "Z2hwX0ExYjJDM2Q0RTVmNkc3aDhJOWowSzFsMk0zbjRPNXA2UTdyOA==");
    has("const k = atob('c2tfbGl2ZV81MUhxTHlqV0Rhcmp0VDF6ZHA3ZGNBYkNkRWZHaA==');", "stripe-live-key", "c2tfbGl2ZV81MUhxTHlqV0Rhcmp0VDF6ZHA3ZGNBYkNkRWZHaA==");
    has("Buffer.from('bW9uZ29kYitzcnY6Ly9zdmM6TWc3a1EyeFd6QGMwLm1vbmdvZGIubmV0L2Ri', 'base64')", "connection-string-password", "bW9uZ29kYitzcnY6Ly9zdmM6TWc3a1EyeFd6QGMwLm1vbmdvZGIubmV0L2Ri");
    has("ZXhwb3J0IERCX1BBU1NXT1JEPSdUcjB1YjRkb3JeM3gnCg==", "password-assignment", "ZXhwb3J0IERCX1BBU1NXT1JEPSdUcjB1YjRkb3JeM3gnCg==");
    /* the same starts in harmless text, inside a longer run, in a JWT */
    none("DOCS=aHR0cHM6Ly9kb2NzLmFjbWUtY29ycC5jb20vcnVuYm9vay9yZXN0YXJ0cw==", NULL);
    none("blob xcG9zdGdyZXM6Ly9hcHA6UGc4d1EzelhrQGRiOjU0MzIvYXBw", NULL);
    none("eyJhbGciOiJIUzI1NiJ9.cG9zdGdyZXM6Ly9hcHA6UGc4d1EzelhrQGRiOjU0MzIvYXBw.c2lnbmF0dXJl", NULL);
}
END_TEST

/* Every prefix of the new shapes (a tool's output cut anywhere): the scan
 * succeeds and no finding reaches past the end.  Each prefix sits in a
 * buffer of its own size, so that a sanitizer build sees any over-read. */
START_TEST(cut_off_shapes)
{
    static const char *const texts[] = {
        "mysql -u root -p'Vq7#Lr2xWm9' -h db && docker login -u c -p 'Tz4!mK8qPw2' r",
        "curl -u admin:'Hb3^nQ7vLp' x; redis-cli -a 'Rd7!kQ2mWz'; smbclient -U u%Sb6!tR2wLq",
        "     1\tmachine g.acme-corp.com\n     2\t  login bob\n     3\t  password Jw5nX8cVq2L\n",
        "server.login(\"bot\", \"Mv9!kR3tLz\") ssh.connect('h', 22, 'u', 'Wd3^kP9sQz') x.connect(",
        "user deploy, password Nr6!xT4qZm. the password for the db is Kq7#Lm2xWv9z",
        "new BasicAWSCredentials(\"AKIAZ3MJQW7XK4RTLP2B\", \"9dJkL2mN4pQ7rS1tU8vW3xY6zA0bC5dE7fG9hI2j\")",
        "# algolia\nc = algoliasearch('H7KQ2ZP4WD', 'e3b19c4f2a7d8e6b5c0f1a9d3e7b2c48')",
        "k: LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUJrZzNY\ncTlMdzJQejhtTjR2UjcKLS0tLS1FTkQgRUMgUFJJVkFURSBLRVktLS0tLQo=",
        "jo\xe2\x81\xa0hn@acme-corp.com %73%6b%5f %2540 \xc2\xad \xef\xbb\xbf \xe2\x80\x8b %4",
        "{\"auth\": \"ZGVwbG95OlB6OCFxVzNlUnQ=\"} //r/:_auth=Y2ktYm90OkxrNCF2Tjh3UXo=",
        "echo REJfUEFTU1dPUkQ9VHIwdWI0ZG9yXjN4Cg== | base64 -d; base64 --decode <<< 'REJf'",
        "data:\n  URL: cG9zdGdyZXM6Ly9hcHA6UXc3IXpYM2NWYkBkYjo1NDMyL3Nob3A=\nkind: Secret\n---\nkind: Secret\ndata:\n  x: ",
        "{\"data\": {\"a\": \"c2hvcF9hcHA=\", \"URL\": \"cG9zdGdyZXM6Ly9hcHA6UXc3IXpYM2NWYkBkYjo1NDMyL3Nob3A=\"}, \"kind\": \"Secret\"}",
        "echo 'Ec5!rT9yUi' | sudo -S a; \"app:Go9!kT5vQz@tcp(db:3306)/s\" jedis.auth(\"Ja3!xQ7vNm\")",
        NULL
    };
    int i;
    size_t k;

    for (i = 0; texts[i]; i++) {
        size_t n = strlen(texts[i]);
        for (k = 0; k <= n; k++) {
            char *b = malloc(k ? k : 1);
            apr_array_header_t *out = apr_array_make(pool, 4, sizeof(llm_scan_match_t));
            int j;
            memcpy(b, texts[i], k);
            ck_assert_int_ge(llm_scan_text(rules, b, k, pool, out), 0);
            for (j = 0; j < out->nelts; j++) {
                llm_scan_match_t *m = &APR_ARRAY_IDX(out, j, llm_scan_match_t);
                ck_assert_uint_le(m->offset + m->length, k);
            }
            free(b);
        }
    }
}
END_TEST

/* The built-in types are those of the built-in rules and nothing else
 * (docs/architecture.md, Contracts), each with its rules' category. */
typedef struct {
    int rules, wrong_category;
} types_seen_t;

static void check_rule_type(void *baton, const char *rule_id,
                            const char *type, llm_category_e cat)
{
    types_seen_t *seen = baton;

    (void)rule_id;
    seen->rules++;
    if (llm_scan_builtin_category(type) != (int)cat) {
        seen->wrong_category++;
    }
}

START_TEST(builtin_types_are_the_rules_types)
{
    static const char *const documented[] = {
        "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "GITHUB_TOKEN", "GITLAB_TOKEN",
        "SLACK_TOKEN", "STRIPE_KEY", "OPENAI_KEY", "ANTHROPIC_KEY",
        "GOOGLE_API_KEY", "PRIVATE_KEY", "JWT", "PASSWORD", "GENERIC_SECRET",
        "EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS", NULL
    };
    llm_scan_rules_t *builtin = llm_scan_rules_create(pool, 1);
    llm_scan_rules_t *none = llm_scan_rules_create(pool, 0);
    types_seen_t seen = { 0, 0 };
    int i;

    llm_scan_rules_visit(builtin, check_rule_type, &seen);
    ck_assert_int_gt(seen.rules, 19);
    ck_assert_int_eq(seen.wrong_category, 0);
    for (i = 0; documented[i]; i++) {
        ck_assert_msg(llm_scan_rules_has_type(none, documented[i]),
                      "%s is not a built-in type", documented[i]);
    }
    ck_assert_int_eq(llm_scan_builtin_category("PHONE"), LLM_CAT_PII);
    ck_assert_int_eq(llm_scan_builtin_category("GENERIC_SECRET"),
                     LLM_CAT_SECRET);
    ck_assert_int_eq(llm_scan_builtin_category("CODENAME"), -1);
    ck_assert_int_eq(llm_scan_builtin_category(NULL), -1);
    ck_assert(!llm_scan_rules_has_type(none, "private-key-rsa"));
}
END_TEST

/* The prefilter skips a literal pair whose neighbours no anchor of its
 * bucket allows: every anchor, in every case a case-insensitive one may be
 * written in, must pass that check where it stands, and a look-alike with
 * other neighbours must not ("rr-" of "error-" is not "xoxr-"). */
START_TEST(anchor_neighbours)
{
    const llm_scan_anchor_t *an = (const llm_scan_anchor_t *)rules->anchors->elts;
    int i, variant;

    ck_assert_int_gt(rules->anchors->nelts, 100);
    for (i = 0; i < rules->anchors->nelts; i++) {
        const llm_scan_anchor_t *a = &an[i];
        for (variant = 0; variant < (a->ci ? 3 : 1); variant++) {
            unsigned char buf[128];
            size_t k;
            ck_assert_uint_lt(a->litlen + 2, sizeof(buf));
            buf[0] = ' ';
            for (k = 0; k < a->litlen; k++) {
                unsigned char c = (unsigned char)a->lit[k];
                if (variant == 1 || (variant == 2 && k % 2)) {
                    c = LLM_IS_LOWER(c) ? (unsigned char)(c - 32) : c;
                }
                buf[1 + k] = c;
            }
            buf[1 + a->litlen] = ' ';
            ck_assert_msg(llm_scan_near_ok(rules, buf, a->litlen + 2,
                                            1 + (size_t)a->pairoff),
                          "anchor '%.*s' (variant %d) fails its own "
                          "neighbour check", (int)a->litlen, a->lit, variant);
        }
    }
    ck_assert(!llm_scan_near_ok(rules, (const unsigned char *)"error-x", 7, 3));
    ck_assert(llm_scan_near_ok(rules, (const unsigned char *)"xoxr-x", 6, 3));
    /* the second byte after the pair: "used" is no "user"; a text that
     * ends before it keeps the pair */
    ck_assert(!llm_scan_near_ok(rules, (const unsigned char *)" used", 5, 1));
    ck_assert(llm_scan_near_ok(rules, (const unsigned char *)" user", 5, 1));
    ck_assert(llm_scan_near_ok(rules, (const unsigned char *)" use", 4, 1));
    has("we used staging: user alice / s3cr3t-Pass!", "prose-account-password",
        "s3cr3t-Pass!");
    has("staging: user alice / s3cr3t-Pass!", "prose-account-password",
        "s3cr3t-Pass!");
    /* and end to end: a Slack token right after text that has the pair */
    has("error- xoxb-78666617603-137215901092-Ig8xNbe3nNyjOq9wMxEhh2FD",
        "slack-token", "xoxb-78666617603-137215901092-Ig8xNbe3nNyjOq9wMxEhh2FD");
}
END_TEST

/* The one check of a type's name, shared by the engine (rule files of
 * llm-scan) and mod_llm_scan's directives. */
START_TEST(type_name_check)
{
    llm_scan_rules_t *rs = llm_scan_rules_create(pool, 0);

    ck_assert(llm_scan_type_name_valid("CODENAME"));
    ck_assert(llm_scan_type_name_valid("A1_B2"));
    ck_assert(!llm_scan_type_name_valid(""));
    ck_assert(!llm_scan_type_name_valid(NULL));
    ck_assert(!llm_scan_type_name_valid("codename"));
    ck_assert(!llm_scan_type_name_valid("1ABC"));
    ck_assert(!llm_scan_type_name_valid("_ABC"));
    ck_assert(!llm_scan_type_name_valid("AB-C"));
    ck_assert(!llm_scan_type_name_valid("AB\xc3\x89"));
    /* the engine refuses what the check refuses */
    ck_assert_ptr_nonnull(llm_scan_rules_add_pattern(rs, "Codename",
                                                     "codename", "x",
                                                     LLM_CAT_CONTENT));
    ck_assert_ptr_null(llm_scan_rules_add_pattern(rs, "CODENAME",
                                                  "codename", "x",
                                                  LLM_CAT_CONTENT));
}
END_TEST

static Suite *scan_suite(void)
{
    Suite *s = suite_create("scan-rules");
    TCase *tc = tcase_create("rules");

    tcase_add_test(tc, builtin_types_are_the_rules_types);
    tcase_add_test(tc, type_name_check);
    tcase_add_test(tc, aws_access_key_id);
    tcase_add_test(tc, aws_secret_access_key);
    tcase_add_test(tc, github_tokens);
    tcase_add_test(tc, gitlab_token);
    tcase_add_test(tc, slack);
    tcase_add_test(tc, stripe);
    tcase_add_test(tc, openai);
    tcase_add_test(tc, anthropic);
    tcase_add_test(tc, google_api_key);
    tcase_add_test(tc, vendor_generic);
    tcase_add_test(tc, private_keys);
    tcase_add_test(tc, jwt);
    tcase_add_test(tc, connection_string_password);
    tcase_add_test(tc, password_assignment);
    tcase_add_test(tc, generic_secret);
    tcase_add_test(tc, bearer_and_basic);
    tcase_add_test(tc, email);
    tcase_add_test(tc, phone);
    tcase_add_test(tc, credit_card);
    tcase_add_test(tc, iban);
    tcase_add_test(tc, us_ssn);
    tcase_add_test(tc, ip_address);
    tcase_add_test(tc, admin_rules);
    tcase_add_test(tc, admin_rules_on_views);
    tcase_add_test(tc, split_values_joined);
    tcase_add_test(tc, split_private_key_widens);
    tcase_add_test(tc, split_clean_joins);
    tcase_add_test(tc, split_long_values_default_window);
    tcase_add_test(tc, overlaps_and_order);
    tcase_add_test(tc, agent_text_shapes);
    tcase_add_test(tc, shared_by_threads);
    tcase_add_test(tc, every_rule_has_a_case);
    tcase_add_test(tc, left_boundary_after_escapes);
    tcase_add_test(tc, keywords_after_escapes);
    tcase_add_test(tc, more_vendor_negatives);
    tcase_add_test(tc, placeholder_words);
    tcase_add_test(tc, random_keys_are_not_placeholders);
    tcase_add_test(tc, many_keywords);
    tcase_add_test(tc, passwords_in_commands);
    tcase_add_test(tc, netrc_lines);
    tcase_add_test(tc, passwords_by_position);
    tcase_add_test(tc, passwords_in_prose);
    tcase_add_test(tc, accounts_in_prose);
    tcase_add_test(tc, aws_secret_by_position);
    tcase_add_test(tc, vendor_hex_keys);
    tcase_add_test(tc, vendor_hex_table);
    tcase_add_test(tc, false_alarms_of_issue_12);
    tcase_add_test(tc, brazil_phones);
    tcase_add_test(tc, decoded_views);
    tcase_add_test(tc, decoded_views_every_alignment);
    tcase_add_test(tc, base64_views);
    tcase_add_test(tc, base64_known_starts);
    tcase_add_test(tc, cut_off_shapes);
    tcase_add_test(tc, anchor_neighbours);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, const char *const *argv)
{
    SRunner *sr;
    int failed;
    const char *err;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    rules = llm_scan_rules_create(pool, 1);
    if ((err = llm_scan_rules_compile(rules))) {
        fprintf(stderr, "compile: %s\n", err);
        return 1;
    }
    sr = srunner_create(scan_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_pool_destroy(pool);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

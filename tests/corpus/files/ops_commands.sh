#!/bin/sh
# one-off maintenance, do not commit
redis-cli -h cache.internal -a 'INVbm@J1L@6X' FLUSHDB
ldapsearch -x -H ldaps://ldap.internal -D "cn=reader,dc=acme,dc=com" -w yRC@m7xcbH5D -b dc=acme,dc=com
sqlcmd -S sql01.internal -U sa -P "G#R_~4s#EdDi" -Q "DBCC CHECKDB"
smbclient //fs01.internal/backup -U svc_backup%Yb=C62LFn7ej -c 'ls'
keytool -importcert -keystore truststore.jks -storepass Px0o645k_x+U -file ca.pem
openssl pkcs12 -export -in cert.pem -inkey key.pem -passout pass:rrZYG3y=NZ7b -out bundle.p12
ls -a /var/backups && git commit -a -m "rotate" && grep -w ERROR /var/log/app.log
redis-cli -a "$REDIS_PASSWORD" PING

#!/bin/sh
# one-off maintenance, do not commit
redis-cli -h cache.internal -a 'BIZfYc!Z3L=E' FLUSHDB
ldapsearch -x -H ldaps://ldap.internal -D "cn=reader,dc=acme,dc=com" -w INVbm@J1L@6X -b dc=acme,dc=com
sqlcmd -S sql01.internal -U sa -P "yRC@m7xcbH5D" -Q "DBCC CHECKDB"
smbclient //fs01.internal/backup -U svc_backup%G#R_~4s#EdDi -c 'ls'
keytool -importcert -keystore truststore.jks -storepass Yb=C62LFn7ej -file ca.pem
openssl pkcs12 -export -in cert.pem -inkey key.pem -passout pass:Px0o645k_x+U -out bundle.p12
ls -a /var/backups && git commit -a -m "rotate" && grep -w ERROR /var/log/app.log
redis-cli -a "$REDIS_PASSWORD" PING

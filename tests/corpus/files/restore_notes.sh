# restore the catalogue from last night's dump
mongodump --host mongo-0.db.svc -u backup -p 'RaK^^sf~P_6M' --out /srv/dump
mongorestore --host mongo-staging -u restore -p 8QZ9HrgqTRjC9M /srv/dump
mongosh "mongodb://mongo-staging:27017" -u admin -p --authenticationDatabase admin
rabbitmqadmin -H mq.svc -u ops -p 'fSj+eMycMic0' list queues
mkdir -p /srv/dump && ssh -p 2222 ops@bastion

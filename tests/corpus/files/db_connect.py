import smtplib, ldap, pymysql, paramiko, cx_Oracle, os

def notify(msg):
    with smtplib.SMTP("smtp.acme-corp.com", 587) as server:
        server.starttls()
        server.login("alerts@acme-corp.com", "OHpY^RFzD0IM")
        server.send_message(msg)

def directory():
    conn = ldap.initialize("ldaps://ldap.acme-corp.com")
    conn.simple_bind_s("cn=reader,dc=acme,dc=com", "fElT~bIFC!4x")
    return conn

def warehouse():
    return pymysql.connect("db.internal", "etl", "Q^AOh4H9yTeF", "warehouse")

def ledger():
    return cx_Oracle.connect("ledger_ro", "WcgIsI=K8zwG", "orahost:1521/LEDGER")

def bastion():
    ssh = paramiko.SSHClient()
    ssh.connect("bastion.acme-corp.com", 22, "ops", 'nUV9Mza44L#4')
    return ssh

# the right way: nothing literal
def notify_env(msg):
    server = smtplib.SMTP(os.environ["SMTP_HOST"])
    server.login(os.environ["SMTP_USER"], os.environ["SMTP_PASSWORD"])
    conn = pymysql.connect(host, user, password, "warehouse")
    sock.connect(("db.internal", 3306))

class Client:
    def login(self, user, password):
        return self.session.login(user, password)

import os
import environ

env = environ.Env()
DB_PASSWORD = env('DB_PASSWORD', default='')
SECRET_KEY = env("DJANGO_SECRET_KEY", default=None)
SMTP_PASSWORD = os.getenv("SMTP_PASSWORD")
REDIS_PASSWORD = os.getenv("REDIS_PASSWORD", "")
COMPOSE_HINT = "password: ${POSTGRES_PASSWORD}"

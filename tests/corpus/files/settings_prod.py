"""Django settings for shop (production)."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "O1D2CwxmKkPZwYuSIe2MHEQdpohoc3XDk6a79UEE81px8SFWlP"
DEBUG = False
ALLOWED_HOSTS = ["shop.acme-corp.com", "10.0.3.17"]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shop",
        "USER": "shop_app",
        "PASSWORD": "Xk9#mP2vLq7!",
        "HOST": "db-primary.internal",
        "PORT": "5432",
    },
    "replica": {
        "PASSWORD": os.environ["REPLICA_DB_PASSWORD"],
        "HOST": os.getenv("REPLICA_HOST", "localhost"),
    },
}

AWS_ACCESS_KEY_ID = "AKIAVK4K4YRLRQPSLDYY"
AWS_SECRET_ACCESS_KEY = "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"
AWS_STORAGE_BUCKET_NAME = "shop-media-prod"
EMAIL_HOST_USER = "billing.robot@acme-corp.com"
EMAIL_HOST_PASSWORD = get_secret("smtp-password")
CACHE_KEY_PREFIX = "shop:v3"
SESSION_COOKIE_AGE = 1209600

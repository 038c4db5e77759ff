import pytest

STRIPE_TEST_CARDS = ["4242424242424242", "4000056655665556", "5555555555554444",
                     "378282246310005", "6011111111111117", "3056930009020004"]
AWS_EXAMPLE = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
JWT_IO = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
STRIPE_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
FAKE_PHONE = "+1 555 0100"
SSN_SAMPLE = "078-05-1120"

@pytest.fixture
def user():
    return {"email": "user@example.com", "password": "${TEST_PASSWORD}",
            "api_key": "your-api-key-here", "token": "xxxxxxxxxxxxxxxxxxxxxxxx"}

# Twilio account SIDs are public identifiers; the auth token is the secret
TWILIO_ACCOUNT_SID = "AC7a1ea4a2e7b822f119268d12b6bf7ce8"
messaging_service = "MG1da8ce02db541a0080cb921b81807772"
client = Client(TWILIO_ACCOUNT_SID, os.environ["TWILIO_AUTH_TOKEN"])

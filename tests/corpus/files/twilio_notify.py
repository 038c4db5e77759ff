from twilio.rest import Client

account_sid = "AC3dd33bce50bea553e597611fe47606ec"
twilio_auth_token = "405752955e4b9b2f5a31cc997dc41eeb"
api_key_sid = "SKf33ae1255ffdf0dbaadfdf32a5992f9f"
client = Client(account_sid, twilio_auth_token)
client.messages.create(to="+14155238886", from_="+15005550006", body="deploy done")

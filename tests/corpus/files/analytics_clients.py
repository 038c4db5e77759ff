# Server-side analytics for the export job
from mixpanel import Mixpanel
from amplitude import Amplitude, BaseEvent

# Mixpanel project token (server events only)
mp = Mixpanel("c80fca6b11ea04d0f33e62d9d6143098")
mp.track("724b2bb5cd1e15fc9a5f0e0f4e647d68", "Export Finished", {"rows": 1200})

amplitude_client = Amplitude(
    "7470a4b953dfcca987be0e8a26e67d21",
)
amplitude_client.track(BaseEvent(event_type="export", user_id="d3475359ce67354855d169a96e21820a"))

# Datadog: API key by position, the app key is read from the vault
dd = DatadogClient("6036605f46ac7dff0a83732f1be6fe51", vault.read("dd/app_key"))

#!/bin/sh
# Print a development JWT (RS256, kid "dev") signed with the key made by
# dev-keys.sh: what a corporate IdP would issue, for trying the gateway.
# Usage: mint-dev-token.sh KEYDIR [subject] [days]
set -eu
dir=$1
sub=${2:-dev-user}
days=${3:-7}
now=$(date +%s)
exp=$((now + days * 86400))
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
header=$(printf '{"alg":"RS256","typ":"JWT","kid":"dev"}' | b64url)
payload=$(printf '{"iss":"%s","aud":"%s","sub":"%s","email":"%s@llm-gateway.local","preferred_username":"%s","groups":["developers","llm-all-models"],"iat":%d,"nbf":%d,"exp":%d}' \
    "${LLM_GW_JWT_ISSUER:-https://idp.llm-gateway.local}" "${LLM_GW_JWT_AUDIENCE:-llm-gateway}" \
    "$sub" "$sub" "$sub" "$now" "$now" "$exp" | b64url)
sig=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$dir/dev-jwt.key" -binary | b64url)
printf '%s.%s.%s\n' "$header" "$payload" "$sig"

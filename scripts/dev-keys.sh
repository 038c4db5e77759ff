#!/bin/sh
# Development keys for a local gateway, made once: the RSA key that signs
# development JWTs, its certificate, its public key as a JWK (one line, kid
# "dev": mod_oauth2 verifies tokens with it, LLM_GW_JWT_JWK) and the local
# mock provider's key.  Never use these on a production gateway.
set -eu
dir=$1
umask 077
mkdir -p "$dir"
if [ ! -s "$dir/dev-jwt.key" ] || [ ! -s "$dir/dev-jwt.crt" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
        -subj "/CN=llm-gateway development token signer" \
        -keyout "$dir/dev-jwt.key" -out "$dir/dev-jwt.crt" >/dev/null 2>&1
fi
if [ ! -s "$dir/dev-jwt.jwk" ]; then
    # n and e, big-endian, base64url without padding (RFC 7518 6.3.1).
    b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
    hex2bin() { perl -e 'print pack("H*", $ARGV[0])' "$1"; }
    n=$(openssl x509 -in "$dir/dev-jwt.crt" -noout -modulus | sed 's/^Modulus=//')
    e=$(openssl x509 -in "$dir/dev-jwt.crt" -noout -text |
        sed -n 's/.*Exponent: \([0-9]*\) .*/\1/p')
    e_hex=$(printf '%06x' "$e")
    printf '{"kty":"RSA","kid":"dev","use":"sig","alg":"RS256","n":"%s","e":"%s"}\n' \
        "$(hex2bin "$n" | b64url)" "$(hex2bin "$e_hex" | b64url)" >"$dir/dev-jwt.jwk"
fi
# The same as a Define for httpd: too long for a command line's -C (httpd
# drops a -C Define of a few hundred bytes without a word), so
# run-gateway includes this file.
if [ ! -s "$dir/dev-jwt.conf" ] || [ "$dir/dev-jwt.jwk" -nt "$dir/dev-jwt.conf" ]; then
    printf "Define LLM_GW_JWT_JWK '%s'\n" "$(cat "$dir/dev-jwt.jwk")" >"$dir/dev-jwt.conf"
fi
[ -s "$dir/mock-provider.key" ] || \
    printf 'mock-provider-key-%s\n' "$(openssl rand -hex 12)" >"$dir/mock-provider.key"

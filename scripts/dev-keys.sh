#!/bin/sh
# Development keys for a local gateway, made once: the RSA key that signs
# development JWTs and its certificate (mod_auth_openidc verifies tokens
# with it) and the local mock
# provider's key.  Never use these on a production gateway.
set -eu
dir=$1
umask 077
mkdir -p "$dir"
if [ ! -s "$dir/dev-jwt.key" ] || [ ! -s "$dir/dev-jwt.crt" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
        -subj "/CN=llm-gateway development token signer" \
        -keyout "$dir/dev-jwt.key" -out "$dir/dev-jwt.crt" >/dev/null 2>&1
fi
[ -s "$dir/mock-provider.key" ] || \
    printf 'mock-provider-key-%s\n' "$(openssl rand -hex 12)" >"$dir/mock-provider.key"

#!/bin/sh
set -eu
echo 'XOrr=M1Ridww' | docker login -u deployer --password-stdin registry.acme-corp.com
echo 'deploy:kLEHx3_HxMeC' | chpasswd
echo "$GHCR_TOKEN" | docker login ghcr.io -u acme-bot --password-stdin
grep -c deploy /etc/passwd

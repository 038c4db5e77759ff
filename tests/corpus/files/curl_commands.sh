#!/bin/sh
curl -s -H "Authorization: Bearer ZJ5BKS_BR2lw05N_2U4Yl6qqDTKEGzFo.CHSrIK2Ao7U" https://api.acme-corp.com/v2/items
curl -s -H "Authorization: Basic Y2ktYm90OlB6OCFxVzNl" https://nexus.acme-corp.com/
curl -X POST -H 'Content-type: application/json' --data '{"text":"deployed"}' https://hooks.slack.com/services/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
curl -H "PRIVATE-TOKEN: glpat-Q1ybNwCgDN6cRDOiO5ei" https://gitlab.acme-corp.com/api/v4/projects
curl -H "Authorization: Bearer $TOKEN" https://api.example.com/
export HF_TOKEN=hf_CN6F6POrZ79OTR4dHUbKtrKT22RCqTpnBT

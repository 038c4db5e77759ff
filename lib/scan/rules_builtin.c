/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The built-in rules.  The first entries are emitted by the recognisers in
 * C (their order is llm_scan_rule_e); the others are pattern rules: a
 * literal anchor found by the prefilter, then an anchored PCRE2 regex at
 * that spot.  Well-known formats without a type of their own among the
 * gateway's finding types (docs/architecture.md, Contracts: npm, PyPI,
 * Twilio, SendGrid, GCP, Azure, ...) are GENERIC_SECRET with their own
 * rule id, so that an admin can still switch them one by one.
 *
 * Priorities decide overlaps: a key block beats anything inside it, a
 * vendor format beats a password or generic assignment holding it, a
 * connection-string password beats the e-mail-looking "pass@host" part.
 */

#include <string.h>

#include "scan_private.h"

typedef struct {
    const char *id;
    const char *type;
    llm_category_e cat;
    int prio;
    int flags;
    const char *anchors;
    int back;
    const char *pattern;
    llm_scan_validate_fn *check;  /* the value (group 1) must pass it */
    llm_scan_find_fn *find;       /* a finder in C instead of a pattern */
    int ci;                       /* anchors are ASCII case-insensitive */
} builtin_t;

#define S LLM_CAT_SECRET
#define P LLM_CAT_PII
#define BL LLM_RF_BOUND_LEFT

/* a flag starts a shell word (not the -p of --password-stdin) */
#define CLI_WORD "(?<![^\\s'\"])"
/* a quoted flag value: no blank first ("-p" in "git add -p" is quoted
 * prose, the quote after it closes something else) */
#define CLI_QUOTED "'([^'\\s][^'\\n]{0,199})'|\"([^\"\\s][^\"\\n]{0,199})\""
/* a value attached to -p ends where the shell word ends */
#define CLI_END "(?=[\\s;|&)]|$)"
/* an unquoted flag value: not a variable, another flag or a redirection */
#define CLI_BARE "([^\\s'\"`\\\\;&|<>()$-][^\\s'\"`\\\\;&|<>()]{2,200})"
/* blanks between .netrc tokens, also across lines that carry a line
 * number (cat -n, an agent's file view "  12\t" or "  12→") */
#define NETRC_SEP "(?:[ \\t]|\\r?\\n(?:[ \\t]*[0-9]{1,7}(?:\\t|\xe2\x86\x92|: |\\|))?)+"
/* callee names of calls that take a password by position; each spelled
 * so that its rarest byte pair is looked up (calls.c has the list) */
#define CALL_ANCHORS ".login|_bind|.bind_s|getConnection|mysqli_connect|mysqli(" \
    "|PDO(|NetworkCredential|PasswordAuthentication|PasswordCredentials" \
    "|BasicAuth|DigestAuth|setPassword|auth=(|PlainAuth|ftp_login" \
    "|ssh2_auth_password|.connect|.auth("
/* names of vendors whose keys are 32 hex digits, each from a rare pair
 * of its own on: aLGolia, TWilio, maiLGun, roLBar, dataDOg, ... (the
 * table in keyshapes.c says which name each stands for) */
#define VENDOR_ANCHORS "lgolia|twilio|lgun|lbar|pusher|dog|snag|ixpanel" \
    "|ude|braintree|fy|kr|fm|nweather|wsapi|yai|rbrake|gdna|llo|tmdb|nlabs"

static const builtin_t builtins[] = {
    /* recognisers (order of llm_scan_rule_e) */
    { "private-key-rsa",      "PRIVATE_KEY", S, 100, LLM_RF_NO_PLACEHOLDER, NULL, 0, NULL },
    { "private-key-ec",       "PRIVATE_KEY", S, 100, LLM_RF_NO_PLACEHOLDER, NULL, 0, NULL },
    { "private-key-dsa",      "PRIVATE_KEY", S, 100, LLM_RF_NO_PLACEHOLDER, NULL, 0, NULL },
    { "private-key-openssh",  "PRIVATE_KEY", S, 100, LLM_RF_NO_PLACEHOLDER, NULL, 0, NULL },
    { "private-key-pkcs8",    "PRIVATE_KEY", S, 100, LLM_RF_NO_PLACEHOLDER, NULL, 0, NULL },
    { "private-key-encrypted", "PRIVATE_KEY", S, 100, LLM_RF_NO_PLACEHOLDER, NULL, 0, NULL },
    { "private-key-pgp",      "PRIVATE_KEY", S, 100, LLM_RF_NO_PLACEHOLDER, NULL, 0, NULL },
    { "jwt",                  "JWT",         S,  90, LLM_RF_NO_PLACEHOLDER, NULL, 0, NULL },
    { "connection-string-password", "PASSWORD", S, 70, 0, NULL, 0, NULL },
    { "password-assignment",  "PASSWORD",    S,  60, 0, NULL, 0, NULL },
    { "aws-secret-access-key", "AWS_SECRET_KEY", S, 75, 0, NULL, 0, NULL },
    { "gcp-service-account-key-id", "GENERIC_SECRET", S, 75, 0, NULL, 0, NULL },
    { "twilio-auth-token",    "GENERIC_SECRET", S, 75, 0, NULL, 0, NULL },
    { "generic-secret-assignment", "GENERIC_SECRET", S, 40, 0, NULL, 0, NULL },
    { "email",                "EMAIL",       P,  30, 0, NULL, 0, NULL },
    { "phone",                "PHONE",       P,  20, 0, NULL, 0, NULL },
    { "credit-card",          "CREDIT_CARD", P,  50, 0, NULL, 0, NULL },
    { "iban",                 "IBAN",        P,  50, 0, NULL, 0, NULL },
    { "us-ssn",               "US_SSN",      P,  50, 0, NULL, 0, NULL },
    { "ipv4-public",          "IP_ADDRESS",  P,  20, 0, NULL, 0, NULL },
    { "ipv6-public",          "IP_ADDRESS",  P,  20, 0, NULL, 0, NULL },

    /* pattern rules */
    { "aws-access-key-id", "AWS_ACCESS_KEY", S, 80, BL,
      "AKIA|ASIA|ABIA|ACCA", 0,
      "(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Za-z0-9])" },
    { "github-pat-classic", "GITHUB_TOKEN", S, 80, BL, "ghp_", 0,
      "ghp_[A-Za-z0-9]{36}(?![A-Za-z0-9])" },
    { "github-pat-fine-grained", "GITHUB_TOKEN", S, 80, BL, "github_pat_", 0,
      "github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}(?![A-Za-z0-9])" },
    { "github-app-token", "GITHUB_TOKEN", S, 80, BL, "ghs_|ghu_|ghr_", 0,
      "gh[sur]_[A-Za-z0-9]{36}(?![A-Za-z0-9])" },
    { "github-oauth-token", "GITHUB_TOKEN", S, 80, BL, "gho_", 0,
      "gho_[A-Za-z0-9]{36}(?![A-Za-z0-9])" },
    { "gitlab-token", "GITLAB_TOKEN", S, 80, BL,
      "glpat-|gldt-|glrt-|glptt-|glcbt-|glft-|glsoat-", 0,
      "gl(?:pat|dt|rt|ptt|cbt|ft|soat)-[A-Za-z0-9_\\-]{20,200}(?![A-Za-z0-9_\\-])" },
    { "slack-token", "SLACK_TOKEN", S, 80, BL, "xoxb-|xoxp-|xoxa-|xoxr-|xoxs-|xoxe-|xoxo-", 0,
      "xox[bpaorse]-(?:[0-9]+-)?[A-Za-z0-9\\-]{10,250}(?![A-Za-z0-9\\-])" },
    { "slack-app-token", "SLACK_TOKEN", S, 80, BL, "xapp-", 0,
      "xapp-[0-9]-[A-Za-z0-9\\-]{20,250}(?![A-Za-z0-9\\-])" },
    { "slack-webhook", "SLACK_TOKEN", S, 80, 0, "hooks.slack.com/", 0,
      "hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\\-]{20,200}" },
    { "stripe-live-key", "STRIPE_KEY", S, 80, BL, "sk_live_|rk_live_", 0,
      "[sr]k_live_[A-Za-z0-9]{20,250}(?![A-Za-z0-9])" },
    /* test mode keys read and write the account's test data (customers,
     * webhooks, connected accounts); only Stripe's documented key is
     * exempt (allow.c) */
    { "stripe-test-key", "STRIPE_KEY", S, 80, BL, "sk_test_|rk_test_", 0,
      "[sr]k_test_[A-Za-z0-9]{20,250}(?![A-Za-z0-9])" },
    { "stripe-webhook-secret", "STRIPE_KEY", S, 80, BL, "whsec_", 0,
      "whsec_[A-Za-z0-9+/=]{24,100}(?![A-Za-z0-9])" },
    { "anthropic-key", "ANTHROPIC_KEY", S, 85, BL, "sk-ant-", 0,
      "sk-ant-[A-Za-z0-9_\\-]{32,250}(?![A-Za-z0-9_\\-])" },
    { "openai-project-key", "OPENAI_KEY", S, 82, BL, "sk-proj-|sk-svcacct-|sk-admin-|sk-None-", 0,
      "sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\\-]{32,250}(?![A-Za-z0-9_\\-])" },
    { "openai-key", "OPENAI_KEY", S, 80, BL | LLM_RF_ENTROPY, "sk-", 0,
      "sk-[A-Za-z0-9]{32,100}(?![A-Za-z0-9_\\-])" },
    { "google-api-key", "GOOGLE_API_KEY", S, 80, BL, "AIza", 0,
      "AIza[0-9A-Za-z_\\-]{35}(?![A-Za-z0-9_\\-])" },
    { "npm-token", "GENERIC_SECRET", S, 80, BL, "npm_", 0,
      "npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])" },
    { "pypi-token", "GENERIC_SECRET", S, 80, BL, "pypi-AgEIcHlwaS5vcmc", 0,
      "pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\\-]{50,400}" },
    { "sendgrid-api-key", "GENERIC_SECRET", S, 80, BL, "SG.", 0,
      "SG\\.[A-Za-z0-9_\\-]{22}\\.[A-Za-z0-9_\\-]{43}(?![A-Za-z0-9_\\-])" },
    { "twilio-api-key", "GENERIC_SECRET", S, 80, BL,
      "SK0|SK1|SK2|SK3|SK4|SK5|SK6|SK7|SK8|SK9|SKa|SKb|SKc|SKd|SKe|SKf|SKA|SKB|SKC|SKD|SKE|SKF", 0,
      "SK(?=[0-9a-fA-F]{0,31}[a-fA-F])(?=[0-9a-fA-F]{0,31}[0-9])[0-9a-fA-F]{32}(?![A-Za-z0-9])" },
    { "azure-storage-key", "GENERIC_SECRET", S, 80, 0, "AccountKey=|SharedAccessKey=", 0,
      "(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]{40,100}={0,2})" },
    { "azure-client-secret", "GENERIC_SECRET", S, 78, BL, "Q~", 4,
      "[A-Za-z0-9_.\\-]{3}[0-9]Q~[A-Za-z0-9_.~\\-]{31,34}(?![A-Za-z0-9_.~\\-])" },
    /* often letters only: looks_random's "needs a digit" would drop them */
    { "huggingface-token", "GENERIC_SECRET", S, 80, BL, "hf_", 0,
      "hf_[A-Za-z0-9]{34,64}(?![A-Za-z0-9])", llm_scan_check_mixed_random },
    { "digitalocean-token", "GENERIC_SECRET", S, 80, BL, "dop_v1_|doo_v1_", 0,
      "do[po]_v1_[a-f0-9]{64}(?![A-Za-z0-9])" },
    { "shopify-token", "GENERIC_SECRET", S, 80, BL, "shpat_|shpss_|shpca_|shppa_", 0,
      "shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}(?![A-Za-z0-9])" },
    { "square-token", "GENERIC_SECRET", S, 80, BL, "sq0atp-|sq0csp-", 0,
      "sq0(?:atp|csp)-[A-Za-z0-9_\\-]{22,60}(?![A-Za-z0-9_\\-])" },
    { "atlassian-token", "GENERIC_SECRET", S, 80, BL, "ATATT3", 0,
      "ATATT3[A-Za-z0-9_\\-=]{100,400}" },
    { "databricks-token", "GENERIC_SECRET", S, 80, BL, "dapi", 0,
      "dapi[a-f0-9]{32}(?:-[0-9])?(?![A-Za-z0-9])" },
    { "vault-token", "GENERIC_SECRET", S, 80, BL | LLM_RF_ENTROPY, "hvs.|hvb.", 0,
      "hv[sb]\\.[A-Za-z0-9_\\-]{24,250}(?![A-Za-z0-9_\\-])" },
    { "mailgun-key", "GENERIC_SECRET", S, 80, BL, "key-", 0,
      "key-[a-f0-9]{32}(?![A-Za-z0-9])" },
    { "mailchimp-key", "GENERIC_SECRET", S, 80, BL, "-us", 32,
      "[a-f0-9]{32}-us[0-9]{1,2}(?![A-Za-z0-9])" },
    { "postman-key", "GENERIC_SECRET", S, 80, BL, "PMAK-", 0,
      "PMAK-[a-f0-9]{24}-[a-f0-9]{34}(?![A-Za-z0-9])" },
    { "age-secret-key", "GENERIC_SECRET", S, 90, BL, "AGE-SECRET-KEY-1", 0,
      "AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}" },
    { "grafana-token", "GENERIC_SECRET", S, 80, BL, "glsa_|glc_", 0,
      "gl(?:sa_[A-Za-z0-9]{32}_[a-fA-F0-9]{8}|c_[A-Za-z0-9+/]{32,400}={0,2})(?![A-Za-z0-9])" },
    { "sentry-token", "GENERIC_SECRET", S, 80, BL, "sntrys_|sntryu_", 0,
      "sntry[su]_[A-Za-z0-9_+/=\\-]{40,400}" },
    { "linear-key", "GENERIC_SECRET", S, 80, BL, "lin_api_", 0,
      "lin_api_[A-Za-z0-9]{40}(?![A-Za-z0-9])" },
    { "doppler-token", "GENERIC_SECRET", S, 80, BL, "dp.pt.|dp.st.|dp.sa.|dp.ct.", 0,
      "dp\\.(?:pt|st|sa|ct)\\.[A-Za-z0-9]{40,44}(?![A-Za-z0-9])" },

    /* passwords in commands.  Anchored on the flag (a rare byte pair), not
     * on the command word (common ones: login, default): the value check
     * in commands.c finds the command on the line before the flag. */
    { "cli-password-flag", "PASSWORD", S, 62, BL, "-p'|-p\"|--password|--passwd|--pass ", 0,
      CLI_WORD "(?|-p'([^'\\s]{1,200})'" CLI_END "|-p\"([^\"\\s]{1,200})\"" CLI_END
      "|--pass(?:word|wd)?(?:[ \\t]+|=)(?|" CLI_QUOTED "|" CLI_BARE "))",
      llm_scan_check_flag_password },
    { "mysql-password-flag", "PASSWORD", S, 62, BL, "-p", 0,
      CLI_WORD "-p" CLI_BARE, llm_scan_check_mysql_password },
    { "cli-login-password", "PASSWORD", S, 62, BL, "-p", 0,
      CLI_WORD "-p(?:[ \\t]+|=)?(?|" CLI_QUOTED "|" CLI_BARE ")",
      llm_scan_check_login_password },
    { "cli-user-password", "PASSWORD", S, 62, BL, "-u|--user", 0,
      CLI_WORD "(?:-u|--user)(?:[ \\t]+|=)?"
      "(?|'[^':\\s]{1,100}:([^'\\s][^'\\n]{0,199})'|\"[^\":\\s]{1,100}:([^\"\\s][^\"\\n]{0,199})\""
      "|[^\\s:'\"]{1,100}:(?|" CLI_QUOTED "|" CLI_BARE "))",
      llm_scan_check_curl_password },
    /* keytool -storepass X, openssl -passin pass:X */
    { "cli-keystore-password", "PASSWORD", S, 62, BL,
      "-storepass|-keypass|-srcstorepass|-deststorepass|-passin|-passout", 0,
      CLI_WORD "(?|-(?:src|dest)?(?:store|key)pass[ \\t]+(?|" CLI_QUOTED "|" CLI_BARE ")"
      "|-pass(?:in|out)[ \\t]+pass:(?|" CLI_QUOTED "|" CLI_BARE "))",
      llm_scan_check_flag_password },
    /* redis-cli -a X, ldapsearch -w X, sqlcmd -P X, smbclient -U user%X:
     * the flag means a password only for its command */
    { "cli-client-password", "PASSWORD", S, 62, BL, "-a|-w|-P|-U|-N", 0,
      CLI_WORD "(?|-[awPN][ \\t]+(?|" CLI_QUOTED "|" CLI_BARE ")"
      "|-U[ \\t]+(?|'[^'%\\s]{1,64}%([^'\\s][^'\\n]{0,199})'|\"[^\"%\\s]{1,64}%([^\"\\s][^\"\\n]{0,199})\""
      "|[^\\s%'\"]{1,64}%" CLI_BARE "))",
      llm_scan_check_client_password },
    /* echo 'X' | sudo -S ..., sudo -S <<< 'X', echo 'X' | docker login
     * --password-stdin, echo 'u:X' | chpasswd */
    { "stdin-password", "PASSWORD", S, 62, 0,
      "sudo -S|--password-stdin|swd", 0, NULL,
      NULL, llm_scan_find_stdin_password },
    /* Go's MySQL DSN: user:password@tcp(host:3306)/db (anchored after the
     * '@', which the e-mail recogniser steps over) */
    { "dsn-password", "PASSWORD", S, 70, 0, "tcp(|unix(", 1, NULL,
      NULL, llm_scan_find_dsn_password },
    /* .netrc: anchored on "password" (by "sw": "pa" is everywhere), the
     * entry before it is checked */
    { "netrc-password", "PASSWORD", S, 62, BL, "sword", 3,
      "password" NETRC_SEP "(?|\"([^\"\\n]{1,200})\"|(\\S{1,200}))",
      llm_scan_check_netrc_password },
    { "call-password-argument", "PASSWORD", S, 62, 0, CALL_ANCHORS, 0, NULL,
      NULL, llm_scan_find_call_password },
    { "prose-password", "PASSWORD", S, 59, BL, "sword|swort", 3, NULL,
      NULL, llm_scan_find_prose_password },
    /* an account and its password in a sentence with no word for
     * password: "user alice / s3cr3t-Pass!" (prose.c) */
    { "prose-account-password", "PASSWORD", S, 58, 0,
      "user|gin|gn in as|ccount|tzer|uario", 0,
      NULL, NULL, llm_scan_find_prose_account, 1 },
    /* an AWS secret written right after its key id: positional
     * constructor arguments, CSV exports, "ID / secret" in prose */
    { "aws-secret-beside-key-id", "AWS_SECRET_KEY", S, 76, BL, "AKIA|ASIA", 0,
      "(?:AKIA|ASIA)[A-Z2-7]{16}(?![A-Za-z0-9])(?:[^\\n]|\\n(?![ \\t]*\\n)){1,100}?"
      "(?<![A-Za-z0-9/+=])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
      llm_scan_check_aws_secret },
    /* 32 hex digits passed to a call near the name of a vendor whose
     * keys look so (Algolia admin keys, Twilio auth tokens, Datadog API
     * keys, Mixpanel and Amplitude secrets, ...: keyshapes.c) */
    { "vendor-hex-key", "GENERIC_SECRET", S, 74, 0, VENDOR_ANCHORS, 0, NULL,
      NULL, llm_scan_find_vendor_hex, 1 },
    /* base64 of a PEM private key: kubeconfig client-key-data, k8s tls.key,
     * a key kept in an environment variable */
    { "private-key-base64", "PRIVATE_KEY", S, 100, LLM_RF_NO_PLACEHOLDER,
      "LS0tLS1CRUdJTi", 0, NULL, NULL, llm_scan_find_b64_pem },
    /* base64 that decodes to text (views.c): docker "auth" and npm _auth
     * (user:password, reported here), echo ... | base64 -d, base64 JSON,
     * Kubernetes Secret data, and a run of base64 that begins as the
     * base64 of postgr(es), mongod(b), mysql:, redis:, rediss, amqp:/,
     * amqps:, https:, http:/, ghp_, gho_, ghs_, ghu_, github_pat, glpat-,
     * sk_liv(e), sk_tes(t), rk_liv(e), sk-pro(j), sk-ant, AKIA, ASIA, AIza,
     * xoxb, xoxp, AWS_, passwo(rd), PASSWO(RD), DB_PAS(SWORD), export,
     * [defau(lt], aws_ac(cess), DATABA(SE), secret, SECRET, API_KE(Y),
     * api_ke(y), token, TOKEN (only the characters those bytes fix); what
     * the decoded text holds is reported under its own rule, over the
     * whole base64 run */
    { "base64-credentials", "PASSWORD", S, 64, 0,
      "auth\"|auth=|Secret|eyJ|4 -d|4 --decode|4 -D"
      "|cG9zdGdy|bW9uZ29k|bXlzcWw6|cmVkaXM6|cmVkaXNz|YW1xcDov|YW1xcHM6"
      "|aHR0cHM6|aHR0cDov|Z2hwX|Z2hvX|Z2hzX|Z2h1X|Z2l0aHViX3Bhd|Z2xwYXQt"
      "|c2tfbGl2|c2tfdGVz|cmtfbGl2|c2stcHJv|c2stYW50|QUtJQ|QVNJQ|QUl6Y"
      "|eG94Y|eG94c|QVdTX|cGFzc3dv|UEFTU1dP|REJfUEFT|ZXhwb3J0|W2RlZmF1"
      "|YXdzX2Fj|REFUQUJB|c2VjcmV0|U0VDUkVU|QVBJX0tF|YXBpX2tl|dG9rZW|VE9LRU",
      0, NULL, NULL, llm_scan_find_b64_view },
    { "bearer-token", "GENERIC_SECRET", S, 45, BL | LLM_RF_ENTROPY, "Bearer |bearer ", 0,
      "[Bb]earer[ \\t]+([A-Za-z0-9._~+/\\-]{20,400}=*)" },
    { "http-basic-auth", "PASSWORD", S, 65, BL | LLM_RF_BASIC_AUTH, "Basic ", 0,
      "Basic[ \\t]+([A-Za-z0-9+/]{8,400}={0,2})(?![A-Za-z0-9+/=])" },
    { NULL, NULL, 0, 0, 0, NULL, 0, NULL }
};

void llm_scan_builtin_add(llm_scan_rules_t *rs)
{
    const builtin_t *b;

    for (b = builtins; b->id; b++) {
        llm_scan_rule_t *r = apr_array_push(rs->rules);
        memset(r, 0, sizeof(*r));
        r->id = b->id;
        r->type = b->type;
        r->cat = b->cat;
        r->prio = b->prio;
        r->flags = b->flags;
        r->pattern = b->pattern;
        r->anchors = b->anchors;
        r->back = b->back;
        r->check = b->check;
        r->find = b->find;
        r->anchor_ci = b->ci;
        r->builtin = 1;
    }
}

/* The built-in types are the types of the table above: a type has its
 * category there, the same in each of its rules. */
int llm_scan_builtin_category(const char *type)
{
    const builtin_t *b;

    if (!type) {
        return -1;
    }
    for (b = builtins; b->id; b++) {
        if (!strcmp(b->type, type)) {
            return b->cat;
        }
    }
    return -1;
}

int llm_scan_builtin_is_type(const char *type)
{
    return llm_scan_builtin_category(type) >= 0;
}

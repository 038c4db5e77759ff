/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * The self-service page (SetHandler llm-self-service): for a developer
 * logged in through the browser at the company IdP (mod_auth_openidc,
 * AuthType openid-connect), who the gateway takes them for, their groups,
 * the models they may use, their quotas and spend this month, and
 * ready-to-paste setup for the agents and SDKs with the session's access
 * token for a quick try.
 *
 * The identity is read exactly as for an API call (route_identity.c, from
 * the session's access token), so the page shows what the gateway will
 * decide.  It is a GET-only page that changes nothing (no CSRF surface
 * beyond the logout link, which mod_auth_openidc handles); every value is
 * HTML-escaped; it works without JavaScript (the copy buttons are extra);
 * it is never cached and never framed.  The page's request line holds no
 * token, and nothing here logs one.
 */

#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "util_script.h"
#include "apr_optional.h"
#include "apr_strings.h"

#include "route_internal.h"
#include "route_quota.h"

APLOG_USE_MODULE(llm_route);

static const char *esc(request_rec *r, const char *s)
{
    return ap_escape_html2(r->pool, s ? s : "", 1);
}

/* The gateway's own base URL, as this request reached it. */
static const char *base_url(request_rec *r)
{
    char *u = ap_construct_url(r->pool, "/", r);
    apr_size_t n = strlen(u);

    if (n > 1 && u[n - 1] == '/') {
        u[n - 1] = '\0';
    }
    return u;
}

static void setup_block(request_rec *r, const char *id, const char *title,
                        const char *text)
{
    ap_rprintf(r, "<h3>%s</h3>\n<pre id=\"%s\">%s</pre>\n"
               "<button type=\"button\" class=\"copy\" data-copy=\"%s\" "
               "hidden>Copy</button>\n", esc(r, title), id, esc(r, text), id);
}

static const char PAGE_HEAD[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<title>LLM gateway: your access</title>\n"
    "<meta name=\"viewport\" content=\"width=device-width\">\n"
    "<style>body{font-family:sans-serif;max-width:60em;margin:1em auto;"
    "padding:0 1em}pre{background:#f4f4f4;padding:.5em;overflow-x:auto;"
    "white-space:pre-wrap;word-break:break-all}</style>\n"
    "</head><body>\n<h1>LLM gateway</h1>\n";

/* Shows the copy buttons and makes them work; without JavaScript the page
 * reads the same, the blocks are selected by hand. */
static const char PAGE_SCRIPT[] =
    "<script>\n"
    "document.querySelectorAll('button.copy').forEach(function (b) {\n"
    "  b.hidden = false;\n"
    "  b.addEventListener('click', function () {\n"
    "    var t = document.getElementById(b.dataset.copy).textContent;\n"
    "    navigator.clipboard.writeText(t).then(function () {\n"
    "      b.textContent = 'Copied'; });\n"
    "  });\n"
    "});\n"
    "</script>\n";

/* The caller's quota counters: used, left, and when each window ends. */
static void quota_section(request_rec *r, const llm_route_dir_conf_t *dc,
                          const llm_request_t *who)
{
    apr_array_header_t *q = llm_route_quota_peek(r, dc, who);
    int i;

    ap_rputs("<section id=\"quota\"><h2>Your quotas</h2>\n", r);
    if (!q) {
        ap_rputs("<p>The quota counters cannot be read right now.</p>"
                 "</section>\n", r);
        return;
    }
    if (!q->nelts) {
        ap_rputs("<p>No quota applies to you.</p></section>\n", r);
        return;
    }
    ap_rputs("<table id=\"quota-table\"><tr><th>counter</th><th>unit</th>"
             "<th>used</th><th>limit</th><th>left</th><th>window ends</th>"
             "</tr>\n", r);
    for (i = 0; i < q->nelts; i++) {
        const llm_quota_figure_t *f =
            &APR_ARRAY_IDX(q, i, llm_quota_figure_t);
        apr_int64_t left = f->limit - f->used;

        ap_rprintf(r, "<tr><td>%s</td><td>%s/%s</td><td>%" APR_INT64_T_FMT
                   "</td><td>%" APR_INT64_T_FMT "</td><td>%" APR_INT64_T_FMT
                   "</td><td>%s</td></tr>\n", esc(r, f->who), f->unit,
                   f->period, f->used, f->limit, left > 0 ? left : 0,
                   f->reset ? ap_ht_time(r->pool, f->reset,
                                         "%Y-%m-%d %H:%M:%S UTC", 1) : "");
    }
    ap_rputs("</table></section>\n", r);
}

/* What the audit trail holds for the caller this month: every request has
 * exactly one row there with the cost mod_llm_audit priced it at, so the
 * sum is the exact figure (up to rows still on their way: a batch delay,
 * or the spool while the database is down), it is the same on every node
 * of a fleet, and a restart loses nothing.  The quota counters hold
 * tokens, not money.  The table is mod_llm_audit's: it is asked through
 * its optional function (llm_gateway.h). */
static void spend_section(request_rec *r, const llm_request_t *who)
{
    APR_OPTIONAL_FN_TYPE(llm_audit_spend) *audit_spend =
        APR_RETRIEVE_OPTIONAL_FN(llm_audit_spend);
    llm_audit_spend_t sp;
    apr_time_exp_t tm;
    apr_time_t since;
    const char *why = NULL;

    ap_rputs("<section id=\"spend\"><h2>Your spend this month</h2>\n", r);
    apr_time_exp_gmt(&tm, r->request_time);
    tm.tm_usec = tm.tm_sec = tm.tm_min = tm.tm_hour = 0;
    tm.tm_mday = 1;
    apr_time_exp_gmt_get(&since, &tm);
    if (!audit_spend) {
        why = "mod_llm_audit, which keeps the audit trail, is not loaded";
    }
    if (!who->user || !audit_spend
        || audit_spend(r, who->user, since, &sp, &why) != APR_SUCCESS) {
        ap_rprintf(r, "<p>Your spend cannot be read right now (%s).</p>"
                   "</section>\n", esc(r, why ? why : "no user"));
        return;
    }
    /* The requests as the quotas count them, so that they compare with
     * the quota lines above; answers from the answer cache cost nothing
     * and are said apart. */
    ap_rprintf(r, "<p><span id=\"spend-usd\">$%.6f</span> for "
               "<span id=\"spend-requests\">%" APR_INT64_T_FMT "</span> "
               "requests since %s, as the audit trail prices them",
               strtod(sp.cost, NULL), sp.requests,
               ap_ht_time(r->pool, since, "%Y-%m-%d %H:%M UTC", 1));
    if (sp.cache_hits > 0) {
        ap_rprintf(r, " (<span id=\"spend-cache-hits\">%" APR_INT64_T_FMT
                   "</span> of them answered from the answer cache, at no "
                   "cost)", sp.cache_hits);
    }
    ap_rputs(".</p></section>\n", r);
}

static void send_headers(request_rec *r)
{
    ap_set_content_type(r, "text/html; charset=utf-8");
    /* The page holds a token: never stored, never framed, never sent on
     * as a referrer; only the inline style and script above run. */
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Referrer-Policy", "no-referrer");
    apr_table_setn(r->headers_out, "X-Frame-Options", "DENY");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->headers_out, "Content-Security-Policy",
                   "default-src 'none'; style-src 'unsafe-inline'; "
                   "script-src 'unsafe-inline'; base-uri 'none'; "
                   "form-action 'self'; frame-ancestors 'none'");
}

/* mod_auth_openidc's logout, at its redirect URI: the page's own path plus
 * "/redirect_uri" (docs/identity.md sets OIDCRedirectURI so), back to the
 * page afterwards -- which asks for a login again. */
static const char *logout_href(request_rec *r)
{
    const char *page = apr_pstrdup(r->pool, r->uri);
    apr_size_t n = strlen(page);
    const char *back;

    if (n > 1 && page[n - 1] == '/') {
        page = apr_pstrndup(r->pool, page, n - 1);
    }
    back = ap_construct_url(r->pool, page, r);
    return apr_pstrcat(r->pool, page, "/redirect_uri?logout=",
                       ap_escape_urlencoded(r->pool, back), NULL);
}

int llm_route_self_service_handler(request_rec *r)
{
    const llm_route_dir_conf_t *dc;
    llm_request_t *who;
    apr_array_header_t *models;
    const char *why = NULL, *base, *token, *expires;
    int i;

    if (!r->handler || strcmp(r->handler, LLM_SELF_SERVICE_HANDLER)) {
        return DECLINED;
    }
    r->allowed |= (AP_METHOD_BIT << M_GET);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (!r->user) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMNO(02600)
                      "self-service page without an authenticated user: "
                      "its <Location> needs AuthType openid-connect and "
                      "Require valid-user");
        return HTTP_FORBIDDEN;
    }
    dc = llm_route_dir(r);
    /* A private object: the page is not a gateway request and is not
     * audited as one. */
    who = apr_pcalloc(r->pool, sizeof(*who));
    send_headers(r);
    ap_rputs(PAGE_HEAD, r);
    if (llm_route_take_identity(r, dc, who, &why) != OK) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, LLMNO(02601)
                      "self-service page for %s: the session's access "
                      "token is not accepted (%s)", r->user, why);
        ap_rprintf(r, "<p id=\"error\">The gateway does not accept the "
                   "token of this login (%s). <a id=\"logout\" href=\"%s\">"
                   "Log out</a> and log in again.</p>\n</body></html>\n",
                   esc(r, why), esc(r, logout_href(r)));
        return OK;
    }
    base = base_url(r);
    token = apr_table_get(r->subprocess_env, "OIDC_access_token");
    expires = apr_table_get(r->subprocess_env, "OIDC_access_token_expires");

    ap_rprintf(r, "<section id=\"you\"><h2>You</h2>\n<dl><dt>User</dt>"
               "<dd id=\"user\">%s</dd>\n<dt>Groups</dt><dd><ul id=\"groups\">",
               esc(r, who->user));
    for (i = 0; who->groups && i < who->groups->nelts; i++) {
        ap_rprintf(r, "<li>%s</li>",
                   esc(r, APR_ARRAY_IDX(who->groups, i, const char *)));
    }
    ap_rputs("</ul></dd></dl></section>\n", r);

    models = llm_route_usable_models(r, dc, who);
    ap_rputs("<section id=\"models\"><h2>Models you may use</h2>\n"
             "<ul id=\"model-list\">", r);
    for (i = 0; i < models->nelts; i++) {
        ap_rprintf(r, "<li><code>%s</code></li>",
                   esc(r, APR_ARRAY_IDX(models, i, llm_usable_model_t).name));
    }
    if (!models->nelts) {
        ap_rputs("<li>none named here: ask your administrator</li>", r);
    }
    ap_rputs("</ul></section>\n", r);
    quota_section(r, dc, who);
    spend_section(r, who);
    ap_rputs("<section id=\"setup\"><h2>Setup</h2>\n"
             "<p>Install <code>llm-token</code> and log in once with "
             "<code>llm-token login</code>; the lines below use it.</p>\n", r);
    setup_block(r, "setup-claude", "Claude Code (~/.claude/settings.json)",
                apr_psprintf(r->pool,
                             "{\n  \"apiKeyHelper\": \"llm-token\",\n"
                             "  \"env\": {\n"
                             "    \"ANTHROPIC_BASE_URL\": \"%s\",\n"
                             "    \"CLAUDE_CODE_API_KEY_HELPER_TTL_MS\": "
                             "\"900000\"\n  }\n}", base));
    setup_block(r, "setup-codex", "Codex CLI (~/.codex/config.toml)",
                apr_psprintf(r->pool,
                             "model_provider = \"company\"\n\n"
                             "[model_providers.company]\n"
                             "name = \"Company LLM gateway\"\n"
                             "base_url = \"%s/v1\"\n"
                             "env_key = \"LLM_GATEWAY_TOKEN\"\n"
                             "wire_api = \"responses\"\n\n"
                             "# start it with: LLM_GATEWAY_TOKEN=$(llm-token) "
                             "codex", base));
    setup_block(r, "setup-openai", "OpenAI SDKs",
                apr_psprintf(r->pool, "export OPENAI_BASE_URL=%s/v1\n"
                             "export OPENAI_API_KEY=$(llm-token)", base));
    setup_block(r, "setup-anthropic", "Anthropic SDKs",
                apr_psprintf(r->pool, "export ANTHROPIC_BASE_URL=%s\n"
                             "export ANTHROPIC_API_KEY=$(llm-token)", base));
    if (token && *token) {
        ap_rputs("<h3>A token for a quick try</h3>\n<p>This login's own "
                 "token", r);
        if (expires && *expires) {
            ap_rprintf(r, ", valid until <time id=\"quick-token-expires\">"
                       "%s</time>",
                       esc(r, ap_ht_time(r->pool,
                                         apr_time_from_sec(apr_atoi64(expires)),
                                         "%Y-%m-%d %H:%M:%S UTC", 1)));
        }
        ap_rprintf(r, ". Use <code>llm-token</code> for anything longer."
                   "</p>\n<pre id=\"quick-token\">%s</pre>\n"
                   "<button type=\"button\" class=\"copy\" "
                   "data-copy=\"quick-token\" hidden>Copy</button>\n",
                   esc(r, token));
        setup_block(r, "setup-curl", "Check it",
                    apr_psprintf(r->pool, "curl -s -H \"Authorization: "
                                 "Bearer $TOKEN\" %s/v1/models", base));
    }
    ap_rprintf(r, "</section>\n<p><a id=\"logout\" href=\"%s\">Log out</a>"
               "</p>\n%s</body></html>\n", esc(r, logout_href(r)),
               PAGE_SCRIPT);
    return OK;
}

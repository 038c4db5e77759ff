/* SPDX-License-Identifier: Apache-2.0
 * Copyright 2026 the mod_llm_gateway developers; see NOTICE.
 */

/*
 * Internals of the detection engine, shared by its source files only.
 *
 * How a scan works: one pass over the text looks up every byte pair in a
 * table of one byte a pair (prefilter.c; on CPUs with AVX-512 VBMI only
 * the pairs that pass a cover of the table, 64 at a time).  Only where a pair can start something
 * interesting does the engine look closer: a literal anchor ("AKIA",
 * "ghp_", "-----BEGIN", "password" ...) hands the position to a pattern
 * rule (an anchored, JIT-compiled PCRE2 regex) or to a recogniser written
 * in C (assignments, numbers, e-mail, URLs, PEM, JWT).  Recognisers and
 * regexes emit candidates; the engine drops allowed values, sorts and
 * resolves overlaps by rule priority.
 */

#ifndef LLM_SCAN_PRIVATE_H
#define LLM_SCAN_PRIVATE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>

#include "apr_pools.h"
#include "apr_tables.h"
#include "llm_scan.h"

/* What a prefilter hit hands the position to. */
typedef enum {
    LLM_SCAN_ACT_PATTERN = 1,   /* a pattern rule: anchored regex */
    LLM_SCAN_ACT_ASSIGN,        /* name = value: passwords, generic secrets */
    LLM_SCAN_ACT_URL,           /* scheme://user:pass@host */
    LLM_SCAN_ACT_PEM,           /* -----BEGIN ... PRIVATE KEY----- */
    LLM_SCAN_ACT_JWT            /* eyJ...  */
} llm_scan_act_e;

/* Built-in rules that recognisers (not regexes) emit.  The order is that of
 * the first entries of the built-in table in rules_builtin.c. */
typedef enum {
    LLM_R_PRIVATE_KEY_RSA = 0,
    LLM_R_PRIVATE_KEY_EC,
    LLM_R_PRIVATE_KEY_DSA,
    LLM_R_PRIVATE_KEY_OPENSSH,
    LLM_R_PRIVATE_KEY_PKCS8,
    LLM_R_PRIVATE_KEY_ENCRYPTED,
    LLM_R_PRIVATE_KEY_PGP,
    LLM_R_JWT,
    LLM_R_CONN_PASSWORD,
    LLM_R_ASSIGN_PASSWORD,
    LLM_R_AWS_SECRET,
    LLM_R_GCP_KEY_ID,
    LLM_R_TWILIO_AUTH,
    LLM_R_GENERIC_ASSIGN,
    LLM_R_EMAIL,
    LLM_R_PHONE,
    LLM_R_CARD,
    LLM_R_IBAN,
    LLM_R_SSN,
    LLM_R_IPV4,
    LLM_R_IPV6,
    LLM_R_NCODE                 /* first pattern rule */
} llm_scan_rule_e;

/* Rule flags */
#define LLM_RF_BOUND_LEFT  0x01  /* the byte before must not be [A-Za-z0-9] */
#define LLM_RF_NO_PLACEHOLDER 0x02 /* skip the placeholder allowlist */
#define LLM_RF_ENTROPY     0x08  /* the value must look random */
#define LLM_RF_BASIC_AUTH  0x10  /* value must decode to user:password */

typedef struct llm_scan_ctx_t llm_scan_ctx_t;

typedef int llm_scan_validate_fn(const llm_scan_ctx_t *cx, size_t off,
                                 size_t len);

/* A rule written in C that the prefilter starts at its anchors like a
 * pattern rule: it emits what it finds and returns where the scan goes
 * on (> at). */
typedef size_t llm_scan_find_fn(llm_scan_ctx_t *cx, int rule, size_t at);

typedef struct llm_scan_rule_t {
    const char *id;
    const char *type;
    llm_category_e cat;
    int prio;                /* the higher wins an overlap */
    int flags;
    const char *pattern;     /* pattern rules; group 1, if set, is the value */
    llm_scan_validate_fn *check; /* pattern rules: the value must pass it */
    llm_scan_find_fn *find;  /* instead of a pattern: a finder in C */
    const char *anchors;     /* '|' separated literals that start a match */
    int back;                /* the anchor sits this far into the match */
    int anchor_ci;           /* anchors are case-insensitive */
    int builtin;
    int disabled;
    int is_keywords;
    pcre2_code *code;
} llm_scan_rule_t;

/* One literal anchor of the prefilter. */
typedef struct llm_scan_anchor_t {
    uint16_t pair;           /* first two bytes (folded when ci) */
    uint8_t act;
    uint8_t ci;
    int rule;                /* pattern rules: the rule index */
    int back;                /* regex start is this far before the literal */
    int pairoff;             /* the pair looked up sits here in lit */
    const char *lit;
    size_t litlen;
    int next;                /* next anchor in the same bucket, -1 */
} llm_scan_anchor_t;

#define LLM_SCAN_BUCKETS 4096

/* What the anchors of one bucket allow right before and right after their
 * pair (a bit a byte): most pairs of a literal are common in text ("r-" of
 * "xoxr-", "t_" of "shpat_"), the three or four bytes around them much
 * less ("rr-" of "error-" fails "xoxr-" at once). */
typedef struct llm_scan_near_t {
    uint8_t before[32];
    uint8_t after[32];
    /* the byte after that: "use" fails "user", "used" and "uses" too */
    uint8_t after2[32];
} llm_scan_near_t;

/* Rectangles of the vector prefilter's cover, a multiple of 8. */
#define LLM_SCAN_ROLE_BITS 32

/* Which loop runs the prefilter (llm_scan_prefilter_path). */
#define LLM_SCAN_PATH_SCALAR 0
#define LLM_SCAN_PATH_AVX512 1

/* The byte classes of the vector loop's drops (vclass). */
#define LLM_SCAN_VC_DIGIT 1     /* 0-9 */
#define LLM_SCAN_VC_NUM 2       /* opens a number before any digit: kind 1 */
#define LLM_SCAN_VC_SEP 4       /* ' ', '-', '.': number_worth reads on */
#define LLM_SCAN_VC_TWO3 8      /* '2', '3': an IPv6 group may start */
#define LLM_SCAN_VC_COLON 16    /* ':' */
#define LLM_SCAN_VC_WORD 32     /* a letter whose pair with ':' is kind 1 */
#define LLM_SCAN_VC_END 64      /* no digit before it makes a hit pair */

/* Buckets beyond this many share class 1, which lets everything through. */
#define LLM_SCAN_NEAR_MAX 255

typedef struct llm_scan_kw_t llm_scan_kw_t;

struct llm_scan_rules_t {
    apr_pool_t *pool;
    apr_array_header_t *rules;      /* llm_scan_rule_t */
    apr_array_header_t *allow;      /* pcre2_code * */
    apr_array_header_t *disabled;   /* const char *, checked at compile */
    apr_array_header_t *kwlists;    /* llm_scan_kwlist_t, for keywords.c */
    int compiled;
    /* prefilter */
    uint8_t pairmap[65536 / 8];
    uint8_t pairbyte[65536];        /* the same, a byte a pair: faster */
    uint8_t litmap[65536 / 8];      /* pairs of literal anchors only */
    /* pairs that also open a number, an e-mail, an IBAN or "word:" */
    uint8_t othermap[65536 / 8];
    uint8_t nearclass[LLM_SCAN_BUCKETS]; /* bucket -> near[] index, 0: none */
    /* the vector prefilter's cover of pairbyte (prefilter_roles.c): bit k
     * of role_first[k / 8][c0] & role_second[k / 8][c1] set when the pair
     * may hit; bytes from 128 on take role_hi_* (byte k / 8 of it) */
    uint8_t role_first[LLM_SCAN_ROLE_BITS / 8][256];
    uint8_t role_second[LLM_SCAN_ROLE_BITS / 8][256];
    uint32_t role_hi_first, role_hi_second;
    int role_count;                 /* rectangles used */
    int prefilter_path;             /* LLM_SCAN_PATH_* */
    llm_scan_near_t near[LLM_SCAN_NEAR_MAX + 1];
    apr_array_header_t *anchors;    /* llm_scan_anchor_t */
    int bucket[LLM_SCAN_BUCKETS];
    int want_email, want_number, want_iban, want_ipv6;
    llm_scan_kw_t *kw;              /* compiled keyword automaton or NULL */
    pcre2_match_context *mctx;      /* limits; read-only after compile */
    uint32_t max_ovec;
    /* The first admin rule with a pattern (rules->nelts when none): every
     * scanned string starts its admin pass there, not at the ~100
     * built-in rules before it. */
    int admin_from;
    /* for the prefilter's loops, what a hit pair is (prefilter.c
     * pair_kind), one load for the tests quick_skip makes: 0 none, 1 no
     * literal anchor's, 2 a literal anchor's that its neighbours cannot
     * drop, c + 1 one that near[c] may drop */
    uint8_t pairkind[65536];
    /* for the vector loop's drops (prefilter.c, build_drop_classes and
     * drops_of): what each byte may be in the hits it decides before the
     * scalar loop, a LLM_SCAN_VC_* bit each; bytes from 128 on take
     * vclass_hi, the bits all of them have.  All 0 when a digit pair may
     * hit. */
    uint8_t vclass[256];
    uint8_t vclass_hi;
    /* Drawn at compile: tells this rule set from any other, even one
     * compiled later at the same address (llm_scan_rules_identity). */
    apr_uint64_t identity;
};

/* A candidate before overlap resolution. */
typedef struct llm_scan_cand_t {
    size_t off;
    size_t len;
    int rule;
    int prio;
} llm_scan_cand_t;

struct llm_scan_ctx_t {
    const llm_scan_rules_t *rs;
    const unsigned char *t;
    size_t len;
    apr_pool_t *p;
    pcre2_match_data *md;    /* llm_scan_md() makes it */
    apr_array_header_t *cands; /* NULL until the first candidate */
    size_t assign_done;      /* names before here were judged already */
    size_t unq_from, unq_to; /* no end of an unquoted value in there */
    size_t pem_no_end;       /* no "-----END " between here and pem_end_to */
    size_t pem_end_to;
    size_t k8s_done;         /* Secret data blocks before here were read */
    int error;
    int depth;               /* 0: the raw text; n: a view n decodings deep */
    /* NULL but in the prefilter's tests: every position dispatch is
     * called at (size_t), to hold the two loops to the same ones */
    apr_array_header_t *dispatched;
};

#define LLM_RULE(rs, i) (&((llm_scan_rule_t *)(rs)->rules->elts)[i])

/* rules_builtin.c */
void llm_scan_builtin_add(llm_scan_rules_t *rs);
int llm_scan_builtin_is_type(const char *type);

/* prefilter.c */
const char *llm_scan_prefilter_build(llm_scan_rules_t *rs);
void llm_scan_prefilter_run(llm_scan_ctx_t *cx);
/* Which loop the prefilter of rs runs: LLM_SCAN_PATH_AVX512 is taken only
 * when the CPU has AVX-512 BW and VBMI and the build has the vector loop;
 * returns the path in effect.  Set once at compile (the environment's
 * LLM_SCAN_PREFILTER=scalar forces the scalar loop); tests set either. */
int llm_scan_prefilter_path(llm_scan_rules_t *rs, int path);
/* prefilter_roles.c: the vector loop's byte roles, from pairbyte */
void llm_scan_roles_build(llm_scan_rules_t *rs);

/* engine.c */
void llm_scan_emit(llm_scan_ctx_t *cx, int rule, size_t off, size_t len);
/* PCRE2's match data of the scan, made on first use (NULL and cx->error
 * set when it cannot be) */
pcre2_match_data *llm_scan_md(llm_scan_ctx_t *cx);
/* a new candidate; the array is made on the first */
llm_scan_cand_t *llm_scan_cand_push(llm_scan_ctx_t *cx);
size_t llm_scan_run_pattern(llm_scan_ctx_t *cx, int rule, size_t at);
/* the admin's patterns, each over the whole text (raw or a view) */
void llm_scan_run_admin(llm_scan_ctx_t *cx);

/* recognisers: each returns where the main loop resumes (> pos) */
size_t llm_scan_rec_assign(llm_scan_ctx_t *cx, size_t pos, size_t litlen);
size_t llm_scan_rec_url(llm_scan_ctx_t *cx, size_t pos);
size_t llm_scan_rec_pem(llm_scan_ctx_t *cx, size_t pos);
size_t llm_scan_rec_jwt(llm_scan_ctx_t *cx, size_t pos);
size_t llm_scan_rec_email(llm_scan_ctx_t *cx, size_t at);
size_t llm_scan_rec_number(llm_scan_ctx_t *cx, size_t pos);
size_t llm_scan_rec_iban(llm_scan_ctx_t *cx, size_t pos);
size_t llm_scan_rec_ipv6(llm_scan_ctx_t *cx, size_t pos);

/* validators.c */
double llm_scan_entropy(const unsigned char *s, size_t n);
int llm_scan_luhn(const char *digits, size_t n);
int llm_scan_card_iin(const char *digits, size_t n);
int llm_scan_card_is_test(const char *digits, size_t n);
int llm_scan_iban_valid(const char *iban, size_t n);
int llm_scan_ssn_valid(int area, int group, int serial);
int llm_scan_ipv4_public(const unsigned int o[4]);
int llm_scan_ipv6_public(const unsigned int g[8]);
size_t llm_scan_b64_decode(const unsigned char *s, size_t n,
                           unsigned char *out, size_t outmax);
int llm_scan_looks_random(const unsigned char *v, size_t n, int hexok);
int llm_scan_context_has(const unsigned char *t, size_t len, size_t from,
                         size_t to, const char *const *words);

/* commands.c: passwords given to commands; calls.c: passed by position
 * to login/bind/connect calls; prose.c: given in a sentence */
int llm_scan_check_password(const llm_scan_ctx_t *cx, size_t off, size_t len);
int llm_scan_check_flag_password(const llm_scan_ctx_t *cx, size_t off,
                                 size_t len);
int llm_scan_check_client_password(const llm_scan_ctx_t *cx, size_t off,
                                   size_t len);
int llm_scan_check_mysql_password(const llm_scan_ctx_t *cx, size_t off,
                                  size_t len);
int llm_scan_check_login_password(const llm_scan_ctx_t *cx, size_t off,
                                  size_t len);
int llm_scan_check_curl_password(const llm_scan_ctx_t *cx, size_t off,
                                 size_t len);
int llm_scan_check_netrc_password(const llm_scan_ctx_t *cx, size_t off,
                                  size_t len);
size_t llm_scan_find_call_password(llm_scan_ctx_t *cx, int rule, size_t at);
size_t llm_scan_find_prose_password(llm_scan_ctx_t *cx, int rule, size_t at);
size_t llm_scan_find_prose_account(llm_scan_ctx_t *cx, int rule, size_t at);
size_t llm_scan_find_stdin_password(llm_scan_ctx_t *cx, int rule, size_t at);
size_t llm_scan_find_dsn_password(llm_scan_ctx_t *cx, int rule, size_t at);

/* keyshapes.c: keys known by where they stand */
int llm_scan_check_mixed_random(const llm_scan_ctx_t *cx, size_t off,
                                size_t len);
int llm_scan_check_aws_secret(const llm_scan_ctx_t *cx, size_t off, size_t len);
size_t llm_scan_find_vendor_hex(llm_scan_ctx_t *cx, int rule, size_t at);
size_t llm_scan_find_b64_pem(llm_scan_ctx_t *cx, int rule, size_t at);

/* views.c: format characters removed, %XX decoded; scanned when a cheap
 * trigger fires, findings mapped back onto the raw text */
void llm_scan_views(llm_scan_ctx_t *cx);
/* base64 that decodes to text: docker and npm auth, echo ... | base64 -d,
 * base64 JSON, Kubernetes Secret data */
size_t llm_scan_find_b64_view(llm_scan_ctx_t *cx, int rule, size_t at);

/* allow.c */
int llm_scan_is_placeholder(const unsigned char *v, size_t n);
int llm_scan_password_placeholder(const unsigned char *v, size_t n);
int llm_scan_allowed(llm_scan_ctx_t *cx, int rule, size_t off,
                     size_t len);

/* keywords.c */
const char *llm_scan_kw_compile(llm_scan_rules_t *rs);
void llm_scan_kw_run(llm_scan_ctx_t *cx);
const char *llm_scan_kw_add(llm_scan_rules_t *rs, int rule,
                            const char *const *words, int nwords);

/* Byte classes used everywhere */
#define LLM_IS_DIGIT(c) ((unsigned)((c) - '0') < 10)
#define LLM_IS_UPPER(c) ((unsigned)((c) - 'A') < 26)
#define LLM_IS_LOWER(c) ((unsigned)((c) - 'a') < 26)
#define LLM_IS_ALPHA(c) (LLM_IS_UPPER(c) || LLM_IS_LOWER(c))
#define LLM_IS_ALNUM(c) (LLM_IS_ALPHA(c) || LLM_IS_DIGIT(c))
#define LLM_LOWER(c) (LLM_IS_UPPER(c) ? (c) + 32 : (c))
#define LLM_IS_HEX(c) (LLM_IS_DIGIT(c) || (unsigned)(((c) | 32) - 'a') < 6)

/* Do the bytes before t[at] spell out an escape of one character?  Agents
 * send text that holds other text still escaped: JSON inside a string,
 * logs and source code ("\n", "\t", "\r", "\b", "\f", "\0" as two
 * characters, "\u003e", "\x3d", "\U0000000a", C octal "\012"),
 * URL-encoded clone URLs and query strings ("%2F", "%3D", "%3A", "%252F"
 * encoded twice, "%u000A", "%5Cn" for an encoded "\n"), mail bodies in
 * quoted-printable ("=3D") and HTML ("&#10", "&#x0a").  The letter or digit
 * that ends such an escape is not part of the word after it, so a token
 * right there starts at a boundary. */
static inline int llm_scan_escape_before(const unsigned char *t, size_t at)
{
    unsigned char c, pre;
    size_t n, k;

    if (at < 2) {
        return 0;
    }
    c = t[at - 1];
    /* \n \t \r \b \f \v \a \e \0 written out, also with the backslash
     * percent-encoded (%5Cn, a JSON log inside a query string) */
    if (c == 'n' || c == 't' || c == 'r' || c == 'b' || c == 'f'
        || c == 'v' || c == 'a' || c == 'e' || c == '0') {
        if (t[at - 2] == '\\') {
            return 1;
        }
        if (at >= 4 && t[at - 4] == '%' && t[at - 3] == '5'
            && (t[at - 2] == 'C' || t[at - 2] == 'c')) {
            return 1;
        }
    }
    /* C octal: \12, \012 */
    for (k = 1; k <= 3 && k < at && t[at - k] >= '0' && t[at - k] <= '7';
         k++) {
        if (t[at - k - 1] == '\\') {
            return 1;
        }
    }
    /* The hex digits right before the token, and what introduces them. */
    for (n = 0; n < 8 && n < at && LLM_IS_HEX(t[at - 1 - n]); n++) {
    }
    if (n < 2 || n >= at) {
        return 0;
    }
    pre = t[at - 1 - n];
    k = at - 1 - n;                 /* where pre is */
    switch (pre) {
    case '%':                       /* %2F, %252F */
        return n == 2 || n == 4;
    case '=':                       /* quoted-printable =3D, upper case */
        return n == 2 && !(t[at - 1] >= 'a' && t[at - 1] <= 'f')
               && !(t[at - 2] >= 'a' && t[at - 2] <= 'f');
    case 'x':                       /* \x0a, &#x0a */
        return n == 2 && k > 0
               && (t[k - 1] == '\\' || (t[k - 1] == '#' && k > 1
                                        && t[k - 2] == '&'));
    case 'u':                       /* \u000a, %u000A */
        return n == 4 && k > 0 && (t[k - 1] == '\\' || t[k - 1] == '%');
    case 'U':                       /* \U0000000a */
        return n == 8 && k > 0 && t[k - 1] == '\\';
    case '#':                       /* &#10 without its ';' */
        for (; n > 0; n--) {
            if (t[at - n] < '0' || t[at - n] > '9') {
                return 0;
            }
        }
        return k > 0 && t[k - 1] == '&';
    default:
        return 0;
    }
}

/* May a word start at t[at]: at the start, after a byte that is not a
 * letter or digit, or after an escape that stands for one. */
static inline int llm_scan_word_start(const unsigned char *t, size_t at)
{
    return at == 0 || !LLM_IS_ALNUM(t[at - 1])
           || llm_scan_escape_before(t, at);
}

/* Do the bytes on either side of the pair at p (p > 0, p + 2 < n) pass
 * the neighbour sets nr?  The second byte after it is judged only where
 * the text has it. */
static inline int llm_scan_near_in(const llm_scan_near_t *nr,
                                   const unsigned char *t, size_t n, size_t p)
{
    return ((nr->before[t[p - 1] >> 3] >> (t[p - 1] & 7)) & 1)
           && ((nr->after[t[p + 2] >> 3] >> (t[p + 2] & 7)) & 1)
           && (p + 3 >= n
               || ((nr->after2[t[p + 3] >> 3] >> (t[p + 3] & 7)) & 1));
}

/* Can an anchor whose pair is t[p], t[p+1] match here, judged from the
 * bytes around it (p > 0, p + 2 < n)?  0 means no anchor of the pair's
 * bucket can. */
static inline int llm_scan_near_ok(const llm_scan_rules_t *rs,
                                   const unsigned char *t, size_t n, size_t p)
{
    unsigned int fp = (unsigned int)LLM_LOWER(t[p])
                      | ((unsigned int)LLM_LOWER(t[p + 1]) << 8);
    unsigned int b = (fp * 40503u >> 4) & (LLM_SCAN_BUCKETS - 1);

    return llm_scan_near_in(&rs->near[rs->nearclass[b]], t, n, p);
}

#endif /* LLM_SCAN_PRIVATE_H */

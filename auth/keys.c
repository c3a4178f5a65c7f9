/* keys.c - see keys.h. */
#include "auth/keys.h"

#include <ctype.h>
#include <errno.h>
#include <jwt.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/mem.h"

#define MAX_KEYS 64
#define MIN_SECRET 32

struct auth_keys {
    auth_key keys[MAX_KEYS];
    size_t n;
    auth_keyring ring;
    char *owned[4 * MAX_KEYS + 8];   /* strings and key material */
    size_t nowned;
};

static char *own(auth_keys *k, char *p)
{
    if (p && k->nowned < sizeof k->owned / sizeof k->owned[0]) k->owned[k->nowned++] = p;
    return p;
}

static bool is_hmac(const char *alg)
{
    return !strncmp(alg, "HS", 2);
}

static bool alg_supported(const char *alg)
{
    static const char *const algs[] = {"HS256", "HS384", "HS512", "RS256", "RS384",
                                       "RS512", "ES256", "ES384"};
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (!strcmp(alg, algs[i])) return jwt_str_alg(alg) != JWT_ALG_INVAL;
    return false;
}

/* Reads a whole file; strips one trailing newline for secrets. */
static char *slurp(const char *path, size_t *len, bool strip_nl, tg_err *err)
{
    buf b;
    buf_init(&b);
    if (buf_read_file(&b, path)) {
        tg_fail(err, 500, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (strip_nl) {
        if (b.len && b.data[b.len - 1] == '\n') b.len--;
        if (b.len && b.data[b.len - 1] == '\r') b.len--;
        if (b.data) b.data[b.len] = '\0';
    }
    return buf_detach(&b, len);
}

static char *resolve(const char *base_file, const char *path)
{
    if (path[0] == '/' || !strchr(base_file, '/')) return xstrdup(path);
    const char *slash = strrchr(base_file, '/');
    buf b;
    buf_init(&b);
    buf_append(&b, base_file, (size_t)(slash - base_file) + 1);
    buf_puts(&b, path);
    return buf_detach(&b, NULL);
}

static void common(auth_key *key, const auth_keys_opts *o)
{
    key->leeway_s = o->leeway_s;
    key->issuer = o->issuer && *o->issuer ? o->issuer : NULL;
    key->audience = o->audience && *o->audience ? o->audience : NULL;
}

static int load_file(auth_keys *k, const auth_keys_opts *o, tg_err *err)
{
    FILE *f = fopen(o->keys_file, "r");
    if (!f) return tg_fail(err, 500, "jwt_keys_file %s: %s", o->keys_file, strerror(errno));
    char line[2048];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *fields[5] = {0};
        int nf = 0;
        for (char *t = strtok(line, " \t\r\n"); t && nf < 5; t = strtok(NULL, " \t\r\n")) {
            if (nf == 0 && t[0] == '#') break;
            fields[nf++] = t;
        }
        if (nf == 0) continue;
        tg_err e;
        if (nf < 3 || nf > 4) {
            rc = tg_fail(err, 500, "%s:%d: expected `kid alg key-file [signing-key-file]`",
                         o->keys_file, lineno);
        } else if (strlen(fields[0]) >= AUTH_ID_MAX || auth_keyring_pick(&k->ring, fields[0])) {
            rc = tg_fail(err, 500, "%s:%d: kid '%.64s' is too long or used twice",
                         o->keys_file, lineno, fields[0]);
        } else if (!alg_supported(fields[1])) {
            rc = tg_fail(err, 500, "%s:%d: algorithm '%.16s' is not one of HS256 HS384 "
                         "HS512 RS256 RS384 RS512 ES256 ES384", o->keys_file, lineno, fields[1]);
        } else if (k->n == MAX_KEYS) {
            rc = tg_fail(err, 500, "%s:%d: more than %d keys", o->keys_file, lineno, MAX_KEYS);
        } else {
            auth_key *key = &k->keys[k->n];
            memset(key, 0, sizeof *key);
            common(key, o);
            key->kid = own(k, xstrdup(fields[0]));
            key->alg = own(k, xstrdup(fields[1]));
            char *path = own(k, resolve(o->keys_file, fields[2]));
            char *mat = own(k, slurp(path, &key->secret_len, is_hmac(key->alg), &e));
            key->secret = (const unsigned char *)mat;
            if (!mat) {
                rc = tg_fail(err, 500, "%s:%d: %s", o->keys_file, lineno, e.msg);
            } else if (is_hmac(key->alg) && key->secret_len < MIN_SECRET) {
                rc = tg_fail(err, 500, "%s:%d: an HS secret must be at least %d bytes",
                             o->keys_file, lineno, MIN_SECRET);
            } else if (nf == 4) {
                char *spath = own(k, resolve(o->keys_file, fields[3]));
                char *smat = own(k, slurp(spath, &key->sign_key_len, false, &e));
                key->sign_key = (const unsigned char *)smat;
                if (!smat) rc = tg_fail(err, 500, "%s:%d: %s", o->keys_file, lineno, e.msg);
            }
            if (rc == 0) {
                k->n++;
                k->ring.n = k->n;
            }
        }
    }
    fclose(f);
    return rc;
}

void auth_keys_opts_from_config(const tg_config *cfg, auth_keys_opts *out)
{
    *out = (auth_keys_opts){
        .secret = cfg->jwt_secret,
        .alg = config_jwt_alg_names[cfg->jwt_alg],
        .kid = cfg->jwt_kid,
        .keys_file = cfg->jwt_keys_file,
        .issuer = cfg->jwt_issuer,
        .audience = cfg->jwt_audience,
        .leeway_s = cfg->jwt_leeway_s,
    };
}

auth_keys *auth_keys_load(const auth_keys_opts *o, tg_err *err)
{
    auth_keys *k = xcalloc(1, sizeof *k);
    k->ring.keys = k->keys;
    if (o->secret && *o->secret) {
        auth_key *key = &k->keys[k->n++];
        common(key, o);
        key->alg = o->alg;
        if (!is_hmac(key->alg) || !alg_supported(key->alg)) {
            tg_fail(err, 400, "jwt_alg: '%.16s' is not HS256, HS384 or HS512 (other "
                    "algorithms go in jwt_keys_file)", key->alg);
            goto out_free;
        }
        key->secret = (const unsigned char *)o->secret;
        key->secret_len = strlen(o->secret);
        key->kid = o->kid && *o->kid ? o->kid : NULL;
        k->ring.n = k->n;
        k->ring.dflt = key;
    }
    if (o->keys_file && *o->keys_file && load_file(k, o, err)) goto out_free;
    if (k->n == 0) {
        tg_fail(err, 400, "jwt_secret: not set, and no jwt_keys_file (TOLLGATE_JWT_SECRET)");
        goto out_free;
    }
    return k;
out_free:
    auth_keys_free(k);
    return NULL;
}

void auth_keys_free(auth_keys *k)
{
    if (!k) return;
    for (size_t i = 0; i < k->nowned; i++) free(k->owned[i]);
    free(k);
}

const auth_keyring *auth_keys_ring(const auth_keys *k)
{
    return &k->ring;
}

const auth_key *auth_keys_signer(const auth_keys *k, const char *kid, tg_err *err)
{
    const auth_key *key = auth_keyring_pick(&k->ring, kid);
    if (!key) {
        tg_fail(err, 400, kid ? "no key with kid '%.64s'" : "no default key (set jwt_secret "
                "or pass --kid)%.0s", kid ? kid : "");
        return NULL;
    }
    if (!is_hmac(key->alg) && !key->sign_key) {
        tg_fail(err, 400, "key '%.64s' has no signing-key file in jwt_keys_file", key->kid);
        return NULL;
    }
    return key;
}

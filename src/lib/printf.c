/*
 * vsnprintf with the formats Keel uses: %d %i %u %x %X %o %p %s %c %%,
 * the l, ll, z and h length modifiers, width, '0' and '-' flags and a
 * precision for strings. Pure logic: unit-tested on the host.
 */
#include <limits.h>
#include <keel/printf.h>
#include <keel/string.h>

struct out {
    char *buf;
    size_t size;
    size_t len;
};

static void out_char(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void out_pad(struct out *o, char c, int n)
{
    while (n-- > 0)
        out_char(o, c);
}

struct spec {
    bool left, zero, plus, space, alt;
    int width, prec;
    int length; /* 0 int, 1 long, 2 long long, -1 short, -2 char, 3 size_t */
};

static void out_number(struct out *o, u64 v, bool neg, unsigned int base, bool upper,
                       const struct spec *sp)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    char sign = neg ? '-' : sp->plus ? '+' : sp->space ? ' ' : 0;
    const char *prefix = !sp->alt || !v ? "" : base == 16 ? (upper ? "0X" : "0x") : base == 8 ? "0" : "";
    int plen = (int)strlen(prefix) + (sign ? 1 : 0);

    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);

    int pad = sp->width - n - plen;
    if (!sp->left && !sp->zero)
        out_pad(o, ' ', pad);
    if (sign)
        out_char(o, sign);
    for (const char *p = prefix; *p; p++)
        out_char(o, *p);
    if (!sp->left && sp->zero)
        out_pad(o, '0', pad);
    while (n)
        out_char(o, tmp[--n]);
    if (sp->left)
        out_pad(o, ' ', pad);
}

static void out_string(struct out *o, const char *s, const struct spec *sp)
{
    if (!s)
        s = "(null)";
    int len = (int)strnlen(s, sp->prec >= 0 ? (size_t)sp->prec : (size_t)-1);

    if (!sp->left)
        out_pad(o, ' ', sp->width - len);
    for (int i = 0; i < len; i++)
        out_char(o, s[i]);
    if (sp->left)
        out_pad(o, ' ', sp->width - len);
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
    *sp = (struct spec){ .prec = -1 };
    for (;; f++) {
        if (*f == '-') sp->left = true;
        else if (*f == '0') sp->zero = true;
        else if (*f == '+') sp->plus = true;
        else if (*f == ' ') sp->space = true;
        else if (*f == '#') sp->alt = true;
        else break;
    }
    if (*f == '*') {
        sp->width = va_arg(*ap, int);
        if (sp->width < 0) { /* a negative width is a '-' flag */
            sp->left = true;
            sp->width = sp->width < -INT_MAX ? INT_MAX : -sp->width;
        }
        f++;
    }
    while (*f >= '0' && *f <= '9')
        sp->width = sp->width * 10 + (*f++ - '0');
    if (*f == '.') {
        f++;
        sp->prec = 0;
        if (*f == '*') {
            sp->prec = va_arg(*ap, int);
            f++;
        }
        while (*f >= '0' && *f <= '9')
            sp->prec = sp->prec * 10 + (*f++ - '0');
    }
    for (;; f++) {
        if (*f == 'l') sp->length++;
        else if (*f == 'h') sp->length--;
        else if (*f == 'z') sp->length = 3;
        else break;
    }
    return f;
}

static u64 arg_unsigned(const struct spec *sp, va_list *ap)
{
    switch (sp->length) {
    case 0: return va_arg(*ap, unsigned int);
    case -1: return (u16)va_arg(*ap, unsigned int);
    case -2: return (u8)va_arg(*ap, unsigned int);
    case 3: return va_arg(*ap, size_t);
    case 1: return va_arg(*ap, unsigned long);
    default: return va_arg(*ap, unsigned long long);
    }
}

static s64 arg_signed(const struct spec *sp, va_list *ap)
{
    switch (sp->length) {
    case 0: return va_arg(*ap, int);
    case -1: return (s16)va_arg(*ap, int);
    case -2: return (s8)va_arg(*ap, int);
    case 3: return (s64)va_arg(*ap, size_t);
    case 1: return va_arg(*ap, long);
    default: return va_arg(*ap, long long);
    }
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
    struct out o = { buf, size, 0 };
    struct spec sp;
    va_list ap;

    va_copy(ap, ap_in);
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            out_char(&o, *f);
            continue;
        }
        f = parse_spec(f + 1, &sp, &ap);
        if (*f != 'd' && *f != 'i')
            sp.plus = sp.space = false; /* sign flags apply to signed conversions only */
        switch (*f) {
        case 'd':
        case 'i': {
            s64 v = arg_signed(&sp, &ap);
            out_number(&o, v < 0 ? -(u64)v : (u64)v, v < 0, 10, false, &sp);
            break;
        }
        case 'u': out_number(&o, arg_unsigned(&sp, &ap), false, 10, false, &sp); break;
        case 'x': out_number(&o, arg_unsigned(&sp, &ap), false, 16, false, &sp); break;
        case 'X': out_number(&o, arg_unsigned(&sp, &ap), false, 16, true, &sp); break;
        case 'o': out_number(&o, arg_unsigned(&sp, &ap), false, 8, false, &sp); break;
        case 'p':
            sp.alt = true;
            out_number(&o, (uintptr_t)va_arg(ap, void *), false, 16, false, &sp);
            break;
        case 's': out_string(&o, va_arg(ap, const char *), &sp); break;
        case 'c': {
            char c = (char)va_arg(ap, int);
            if (!sp.left)
                out_pad(&o, ' ', sp.width - 1);
            out_char(&o, c);
            if (sp.left)
                out_pad(&o, ' ', sp.width - 1);
            break;
        }
        case '%': out_char(&o, '%'); break;
        case '\0': f--; break;
        default:
            out_char(&o, '%');
            out_char(&o, *f);
            break;
        }
    }
    va_end(ap);
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

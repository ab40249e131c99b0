/* Emulated CLINT: the model and its reasons are in keel/vclint.h. */
#include <keel/vclint.h>

int vclint_init(struct vclint *c, unsigned int nr_harts, const struct vclint_ops *ops, void *opaque)
{
    if (!nr_harts || nr_harts > VCLINT_MAX_HARTS)
        return -1;
    c->nr_harts = nr_harts;
    c->ops = ops;
    c->opaque = opaque;
    vclint_reset(c);
    return 0;
}

void vclint_reset(struct vclint *c)
{
    for (unsigned int h = 0; h < c->nr_harts; h++) {
        c->msip[h] = false;
        c->mtimecmp[h] = ~0UL;
        c->ops->msip(c->opaque, h, false);
        c->ops->mtimecmp(c->opaque, h, ~0UL);
    }
}

/* The 64-bit register @off falls in (mtimecmp or mtime) and the shift of its half. */
static bool wide_reg(const struct vclint *c, u64 off, unsigned int size, u64 *base, unsigned int *shift)
{
    if (off >= VCLINT_MTIMECMP && off < VCLINT_MTIMECMP + 8UL * c->nr_harts) {
        *base = off & ~7UL;
    } else if (off >= VCLINT_MTIME && off < VCLINT_MTIME + 8) {
        *base = VCLINT_MTIME;
    } else {
        return false;
    }
    *shift = (unsigned int)(off - *base) * 8;
    return size == 8 ? !*shift : true;
}

static u64 wide_read(struct vclint *c, u64 base)
{
    if (base == VCLINT_MTIME)
        return c->ops->mtime(c->opaque);
    return c->mtimecmp[(base - VCLINT_MTIMECMP) / 8];
}

int vclint_read(struct vclint *c, u64 off, unsigned int size, u64 *val)
{
    unsigned int shift;
    u64 base;

    if ((size != 4 && size != 8) || off % size)
        return -1;
    if (off < 4UL * c->nr_harts && size == 4) {
        *val = c->msip[off / 4];
        return 0;
    }
    if (!wide_reg(c, off, size, &base, &shift))
        return -1;
    *val = wide_read(c, base) >> shift;
    if (size == 4)
        *val &= 0xffffffffUL;
    return 0;
}

static void mtimecmp_write(struct vclint *c, unsigned int hart, unsigned int shift,
                           unsigned int size, u64 val)
{
    u64 mask = size == 8 ? ~0UL : 0xffffffffUL << shift;

    c->mtimecmp[hart] = (c->mtimecmp[hart] & ~mask) | ((val << shift) & mask);
    c->ops->mtimecmp(c->opaque, hart, c->mtimecmp[hart]);
}

int vclint_write(struct vclint *c, u64 off, unsigned int size, u64 val)
{
    unsigned int shift;
    u64 base;

    if ((size != 4 && size != 8) || off % size)
        return -1;
    if (off < 4UL * c->nr_harts && size == 4) {
        bool level = val & 1;
        if (level != c->msip[off / 4]) {
            c->msip[off / 4] = level;
            c->ops->msip(c->opaque, (unsigned int)(off / 4), level);
        }
        return 0;
    }
    if (!wide_reg(c, off, size, &base, &shift))
        return -1;
    if (base != VCLINT_MTIME)
        mtimecmp_write(c, (unsigned int)((base - VCLINT_MTIMECMP) / 8), shift, size, val);
    return 0;
}

#include <libfdt.h>
#include <keel/cmdline.h>
#include <keel/log.h>

void vms_boot(const void *fdt)
{
    int chosen = fdt_path_offset(fdt, "/chosen"), node, count = 0;

    if (chosen >= 0)
        fdt_for_each_subnode(node, fdt, chosen)
            if (fdt_node_check_compatible(fdt, node, "keel,vm") == 0)
                count++;
    if (!count) {
        INFO("no VM configured (add keel,vm nodes under /chosen; see tools/keel-run --help)");
        INFO("idle: CPUs wait in WFI. QEMU: Ctrl-a x to quit");
    }
}

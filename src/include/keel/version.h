#ifndef KEEL_VERSION_H
#define KEEL_VERSION_H

#ifndef KEEL_GIT
#define KEEL_GIT "unknown"
#endif
#define KEEL_VERSION "0.1.0 (" KEEL_GIT ")"

#endif

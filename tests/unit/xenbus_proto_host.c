/* The guest's xenbus protocol code built for the host (it is plain C with no guest dependencies when hosted). */
#include "xenbus_proto.c"

// SwiftPM needs one source file for a C target; the declaration lives in the header.
#include "CFuzzDriver.h"

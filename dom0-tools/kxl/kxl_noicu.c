/* ICU's converter entry points for a kxl linked with Debian's static libxml2: an encoding only ICU knows is refused, and ICU (with libstdc++) is not loaded by every kxl command. */
#ifdef KXL_NOICU
#include <unicode/ucnv.h>
#include <unicode/ucnv_err.h>

/*
 * libxml2 tries its built-in encodings and glibc's iconv first and ICU only
 * for a name neither knows (encoding.c, openIcuConverter). configure found
 * ucnv_open undefined in libxml2.a and checked that a program links with
 * this file (configure.ac, --disable-static-libxml2); ICU's own header
 * gives the names their version suffix. ucnv_open fails, so libxml2
 * reports the encoding as unsupported and never holds a converter.
 */
UConverter *ucnv_open(const char *name, UErrorCode *err)
{
	*err = U_ILLEGAL_ARGUMENT_ERROR;
	return NULL;
}

void ucnv_close(UConverter *conv)
{
}

/* Unreachable without a converter: each refuses, should that ever change. */
void ucnv_convertEx(UConverter *target_cnv, UConverter *source_cnv, char **target, const char *target_limit,
                    const char **source, const char *source_limit, UChar *pivot_start, UChar **pivot_source,
                    UChar **pivot_target, const UChar *pivot_limit, UBool reset, UBool flush, UErrorCode *err)
{
	*err = U_UNSUPPORTED_ERROR;
}

void ucnv_setFromUCallBack(UConverter *conv, UConverterFromUCallback action, const void *context,
                           UConverterFromUCallback *old_action, const void **old_context, UErrorCode *err)
{
	*err = U_UNSUPPORTED_ERROR;
}

void ucnv_setToUCallBack(UConverter *conv, UConverterToUCallback action, const void *context,
                         UConverterToUCallback *old_action, const void **old_context, UErrorCode *err)
{
	*err = U_UNSUPPORTED_ERROR;
}

void UCNV_FROM_U_CALLBACK_STOP(const void *context, UConverterFromUnicodeArgs *args, const UChar *units,
                               int32_t length, UChar32 cp, UConverterCallbackReason reason, UErrorCode *err)
{
}

void UCNV_TO_U_CALLBACK_STOP(const void *context, UConverterToUnicodeArgs *args, const char *units,
                             int32_t length, UConverterCallbackReason reason, UErrorCode *err)
{
}
#else
/* The shared libxml2, or a static one without ICU: nothing to answer for. */
typedef int kxl_noicu_unused;
#endif

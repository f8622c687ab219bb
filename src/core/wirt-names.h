/* wirt-names.h: VM name rules and the owner+name -> libvirt domain name mapping. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define WIRT_NAME_MAX 48

/* Letters, digits and dash; starts with a letter or digit; 1..48 bytes. */
gboolean wirt_name_validate(const char *name, GError **error);
/* A user name we accept as an owner: NSS-style, no '/', no control chars, no spaces. */
gboolean wirt_name_validate_owner(const char *owner, GError **error);
/* "alice" + "web" -> "alice.web": a VM name has no '.', so the last '.' splits it
 * back unambiguously even when user names contain dots or dashes. */
char *wirt_name_domain(const char *owner, const char *name);
/* "web" -> (NULL,"web"); "bob/web" -> ("bob","web"). Validates both parts. */
gboolean wirt_name_parse_ref(const char *ref, char **out_owner, char **out_name, GError **error);

G_END_DECLS

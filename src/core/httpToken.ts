/** A token (RFC 9110 section 5.6.2): what header field names, cookie names and methods are made of. */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

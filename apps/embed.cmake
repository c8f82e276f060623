# Turns a text file into a C++ string constant (raw string with a delimiter unlikely in JSON).
file(READ ${IN} CONTENT)
file(WRITE ${OUT} "extern const char* const kGmpkiOpenApiJson;\nconst char* const kGmpkiOpenApiJson = R\"gmpki_embed(${CONTENT})gmpki_embed\";\n")

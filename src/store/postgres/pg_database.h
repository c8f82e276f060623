// PostgreSQL backend. The only place (with pg_database.cc) that includes libpq-fe.h.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace gmpki::store::postgres {

// Connects with a libpq connection URI or keyword/value string (one connection is opened now to
// fail fast). kUnavailable when the server cannot be reached.
// Session settings on every connection: synchronous_commit=on (Commit returns only when the
// commit is flushed), bytea_output=hex, client_encoding=UTF8.
Result<std::unique_ptr<Database>> OpenPostgresDatabase(const std::string& conninfo);

}  // namespace gmpki::store::postgres

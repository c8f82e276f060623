// SQLite backend. The only place (with sqlite_database.cc) that includes sqlite3.h.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace gmpki::store::sqlite {

// Opens (creating if absent) the database file at `path` in WAL mode with synchronous=FULL,
// foreign_keys=ON and a 10 s busy timeout. kStorageFailure if the file cannot be opened.
Result<std::unique_ptr<Database>> OpenSqliteDatabase(const std::string& path);

}  // namespace gmpki::store::sqlite

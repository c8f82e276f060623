// Concurrency and crash durability, on both backends.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "store/store.h"
#include "store/testing/backends.h"

namespace gmpki::store {
namespace {

using testutil::AllBackends;
using testutil::BackendNames;

const std::vector<Migration> kRows = {
    {1, "rows", "CREATE TABLE rows (id INTEGER PRIMARY KEY, writer INTEGER NOT NULL, "
                "payload {{blob}})"},
};

template <class B>
class StoreConcurrencyTest : public testutil::BackendTest<B> {
 protected:
  void SetUp() override {
    testutil::BackendTest<B>::SetUp();
    if (this->HasFatalFailure()) return;
    ASSERT_TRUE(this->db().Migrate(kRows).ok());
  }
};
TYPED_TEST_SUITE(StoreConcurrencyTest, AllBackends, BackendNames);

// req: PF-06
TYPED_TEST(StoreConcurrencyTest, EightConcurrentWritersLoseNothing) {
  constexpr int kThreads = 8, kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto tx = this->db().Begin();
        if (!tx) {
          ADD_FAILURE() << tx.error().ToString();
          ++failures;
          return;
        }
        // Read-then-write: the pattern that deadlocks a deferred SQLite transaction.
        auto max = (*tx)->QueryOne("SELECT COUNT(*) FROM rows WHERE writer = ?",
                                   {Value(std::int64_t{t})});
        auto ins = (*tx)->Exec("INSERT INTO rows (id, writer, payload) VALUES (?, ?, ?)",
                               {Value(std::int64_t{t * 1000 + i}), Value(std::int64_t{t}),
                                Value(Bytes(64, static_cast<std::uint8_t>(t)))});
        Status c = ins.ok() ? (*tx)->Commit() : Status(ins.error());
        if (!max.ok() || !c.ok()) {
          ADD_FAILURE() << (c.ok() ? max.error().ToString() : c.error().ToString());
          ++failures;
          return;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  auto tx = this->db().BeginReadOnly();
  ASSERT_TRUE(tx.ok());
  auto rows = (*tx)->Query("SELECT id FROM rows ORDER BY id");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::int64_t> ids;
  for (const Row& r : *rows) ids.insert(r.Int(0));
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) EXPECT_TRUE(ids.count(t * 1000 + i)) << t << "/" << i;
  }
}

// req: PF-06
TYPED_TEST(StoreConcurrencyTest, ReadersRunWhileAWriterHoldsItsTransaction) {
  {
    auto tx = this->db().Begin();
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE((*tx)->Exec("INSERT INTO rows (id, writer) VALUES (1, 0)").ok());
    ASSERT_TRUE((*tx)->Commit().ok());
  }
  auto writer = this->db().Begin();
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Exec("INSERT INTO rows (id, writer) VALUES (2, 0)").ok());
  // Four readers on other threads see the committed row only, and finish promptly although
  // the write transaction is still open.
  std::atomic<int> ok{0};
  std::vector<std::thread> readers;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      auto tx = this->db().BeginReadOnly();
      if (!tx.ok()) return;
      auto rows = (*tx)->Query("SELECT id FROM rows");
      if (rows.ok() && rows->size() == 1 && (*rows)[0].Int(0) == 1) ++ok;
    });
  }
  for (auto& th : readers) th.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_TRUE((*writer)->Commit().ok());
  auto tx = this->db().BeginReadOnly();
  ASSERT_TRUE(tx.ok());
  EXPECT_EQ((*(*tx)->QueryOne("SELECT COUNT(*) FROM rows"))->Int(0), 2);
}

// req: PF-06
TYPED_TEST(StoreConcurrencyTest, ConcurrentNodesMigrateOnce) {
  // Four "nodes", each with its own Database handle, start at once with the same migrations.
  const std::vector<Migration> ms = {
      kRows[0],
      {2, "audit", "CREATE TABLE audit (id {{autoid}}, what TEXT NOT NULL)"},
      {3, "seed", "INSERT INTO audit (what) VALUES ('seeded')"},
  };
  std::vector<std::unique_ptr<Database>> nodes;
  for (int i = 0; i < 4; ++i) {
    auto db = OpenDatabase(this->scratch().url());
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    nodes.push_back(std::move(db).value());
  }
  std::vector<Status> results(nodes.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = nodes[i]->Migrate(ms); });
  }
  for (auto& th : threads) th.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.error().ToString();
  auto tx = this->db().BeginReadOnly();
  ASSERT_TRUE(tx.ok());
  EXPECT_EQ((*(*tx)->QueryOne("SELECT COUNT(*) FROM audit"))->Int(0), 1);
  EXPECT_EQ((*(*tx)->QueryOne("SELECT COUNT(*) FROM schema_migrations"))->Int(0), 3);
}

// Child side of the crash test: commit rows one by one, acknowledging each on the pipe only
// after Commit returned. Never returns.
[[noreturn]] void CommitUntilKilled(const std::string& url, int ack_fd) {
  alarm(60);  // a safety net should the parent fail to kill us
  auto db = OpenDatabase(url);
  if (!db) _exit(2);
  for (std::int32_t i = 1;; ++i) {
    auto tx = (*db)->Begin();
    if (!tx) _exit(3);
    if (!(*tx)->Exec("INSERT INTO rows (id, writer, payload) VALUES (?, 1, ?)",
                     {Value(std::int64_t{i}), Value(Bytes(100, 0xab))})
             .ok() ||
        !(*tx)->Commit().ok()) {
      _exit(4);
    }
    if (write(ack_fd, &i, sizeof i) != sizeof i) _exit(5);
  }
}

// req: CC-FDP
TYPED_TEST(StoreConcurrencyTest, AcknowledgedCommitsSurviveKillNine) {
  constexpr std::int32_t kKillAfter = 150;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    CommitUntilKilled(this->scratch().url(), fds[1]);
  }
  close(fds[1]);
  std::int32_t acked = 0, v = 0;
  bool killed = false;
  while (read(fds[0], &v, sizeof v) == sizeof v) {
    EXPECT_EQ(v, acked + 1);
    acked = v;
    if (!killed && acked >= kKillAfter) {
      kill(child, SIGKILL);  // mid-stream: the child is likely inside its next commit
      killed = true;
    }
  }
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child exited early, status " << status;
  ASSERT_GE(acked, kKillAfter);

  ASSERT_TRUE(this->scratch().Reopen().ok());
  auto tx = this->db().BeginReadOnly();
  ASSERT_TRUE(tx.ok());
  auto rows = (*tx)->Query("SELECT id FROM rows WHERE writer = 1 ORDER BY id");
  ASSERT_TRUE(rows.ok()) << rows.error().ToString();
  // Every acknowledged row is there; at most one more (committed, not yet acknowledged).
  ASSERT_GE(rows->size(), static_cast<std::size_t>(acked));
  ASSERT_LE(rows->size(), static_cast<std::size_t>(acked) + 1);
  for (std::int32_t i = 0; i < acked; ++i) EXPECT_EQ((*rows)[i].Int(0), i + 1);
}

}  // namespace
}  // namespace gmpki::store

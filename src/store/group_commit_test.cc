#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "store/group_commit.h"
#include "store/testing/backends.h"

namespace gmpki::store {
namespace {

template <class B>
class GroupCommitTest : public testutil::BackendTest<B> {
 protected:
  void SetUp() override {
    testutil::BackendTest<B>::SetUp();
    ASSERT_TRUE(this->db().Migrate({{1, "t", "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"}}).ok());
  }
  std::int64_t Count() {
    auto tx = this->db().BeginReadOnly();
    return (*(*tx)->QueryOne("SELECT COUNT(*) FROM t"))->Int(0);
  }
};
TYPED_TEST_SUITE(GroupCommitTest, testutil::AllBackends, testutil::BackendNames);

// req: PF-03, CC-FDP
TYPED_TEST(GroupCommitTest, ConcurrentWorkIsBatchedAndEveryAcknowledgedRowIsStored) {
  GroupCommitter gc(this->db());
  constexpr int kThreads = 8, kPerThread = 40;
  std::atomic<int> acked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::int64_t k = t * 1000 + i;
        Status st = gc.Run([k](Transaction& tx) -> Status {
          GMPKI_RETURN_IF_ERROR(tx.Exec("INSERT INTO t (k, v) VALUES (?, 'x')", {k}));
          return OkStatus();
        });
        if (st.ok()) ++acked;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(acked.load(), kThreads * kPerThread);
  EXPECT_EQ(this->Count(), kThreads * kPerThread);
  EXPECT_EQ(gc.items(), static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_LE(gc.batches(), gc.items());
}

// req: CC-FDP
TYPED_TEST(GroupCommitTest, AFailingItemFailsAloneAndLeavesNoTrace) {
  GroupCommitter gc(this->db());
  ASSERT_TRUE(gc.Run([](Transaction& tx) -> Status {
    GMPKI_RETURN_IF_ERROR(tx.Exec("INSERT INTO t (k, v) VALUES (1, 'first')"));
    return OkStatus();
  }).ok());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, dup{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      // Items 0, 2, 4 collide with k = 1; their partial work (k = 100 + i) must not survive.
      Status st = gc.Run([i](Transaction& tx) -> Status {
        GMPKI_RETURN_IF_ERROR(tx.Exec("INSERT INTO t (k, v) VALUES (?, 'part')", {std::int64_t{100 + i}}));
        GMPKI_RETURN_IF_ERROR(tx.Exec("INSERT INTO t (k, v) VALUES (?, 'x')",
                                      {std::int64_t{i % 2 == 0 ? 1 : 200 + i}}));
        return OkStatus();
      });
      if (st.ok()) ++ok;
      else if (st.error().code() == ErrorCode::kAlreadyExists) ++dup;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 3);
  EXPECT_EQ(dup.load(), 3);
  EXPECT_EQ(this->Count(), 1 + 3 * 2);
  auto tx = this->db().BeginReadOnly();
  auto rows = (*tx)->Query("SELECT k FROM t WHERE k IN (100, 102, 104)");
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
}

}  // namespace
}  // namespace gmpki::store

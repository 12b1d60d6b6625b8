// The in-memory StorageDriver the controller tests run on: storage-fs's
// semantics (implicit directories, Move, tree Remove, writers that append,
// Walk) and its fault injection.
#include "support/memory_storage_driver.h"

#include <gtest/gtest.h>

#include "support/status_testing.h"

namespace berth::testing_support {
namespace {

TEST(MemoryStorageDriver, ObjectsDirectoriesAndTrees) {
  MemoryStorageDriver d;
  ASSERT_OK(d.PutContent("/a/b/one", "1"));
  ASSERT_OK(d.PutContent("/a/two", "22"));
  std::string out;
  ASSERT_OK(d.GetContent("/a/two", &out));
  EXPECT_EQ(out, "22");
  EXPECT_EQ(d.GetContent("/a/two", &out, 1).code(), Code::kTooLarge);
  EXPECT_TRUE(d.Stat("/a/b")->is_dir);
  EXPECT_EQ(d.Stat("/a/b/one")->size, 1);
  EXPECT_TRUE(d.Stat("/a/c").status().IsNotFound());
  EXPECT_EQ(*d.List("/a"), (std::vector<std::string>{"/a/b", "/a/two"}));
  EXPECT_EQ(d.PutContent("/a/../x", "").code(), Code::kInvalidArgument);

  std::vector<std::string> walked;
  ASSERT_OK(d.Walk("/", [&](const std::string& p, const FileInfo&) {
    walked.push_back(p);
    return WalkAction::kContinue;
  }));
  EXPECT_EQ(walked, (std::vector<std::string>{"/a", "/a/b", "/a/b/one", "/a/two"}));

  ASSERT_OK(d.Move("/a/b/one", "/c/one"));
  EXPECT_FALSE(d.Object("/a/b/one"));
  EXPECT_EQ(d.Object("/c/one"), "1");
  ASSERT_OK(d.Remove("/a"));
  EXPECT_TRUE(d.Remove("/a").IsNotFound());
  EXPECT_EQ(d.Paths(), (std::vector<std::string>{"/c/one"}));
}

TEST(MemoryStorageDriver, WritersAppendAndCancelDropsTheBytes) {
  MemoryStorageDriver d;
  {
    auto w = Must(d.OpenWriter("/u/data", true));
    ASSERT_OK(w->Write("abc", 3));
    ASSERT_OK(w->Close());
  }
  auto w = Must(d.OpenWriter("/u/data", true));
  EXPECT_EQ(w->Size(), 3);
  ASSERT_OK(w->Write("de", 2));
  EXPECT_EQ(d.Object("/u/data"), "abcde");
  auto r = Must(d.OpenReader("/u/data", 2));
  char buf[8];
  EXPECT_EQ(*r->Read(buf, sizeof buf), 3u);
  EXPECT_EQ(std::string(buf, 3), "cde");
  ASSERT_OK(w->Cancel());
  EXPECT_FALSE(d.Object("/u/data"));
}

TEST(MemoryStorageDriver, InjectedFaultsFireOnceAtTheirCall) {
  MemoryStorageDriver d;
  d.FailNth(StorageOp::kPutContent, 2);
  ASSERT_OK(d.PutContent("/x", "1"));
  Status s = d.PutContent("/y", "2");
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_FALSE(d.Object("/y"));  // a failed call has no effect
  ASSERT_OK(d.PutContent("/y", "2"));
  EXPECT_EQ(d.Calls(StorageOp::kPutContent), 3);

  d.FailWritesAfter(4);
  auto w = Must(d.OpenWriter("/z", false));
  ASSERT_OK(w->Write("abc", 3));
  EXPECT_EQ(w->Write("defg", 4).code(), Code::kIOError);
  EXPECT_EQ(d.Object("/z"), "abcd");  // the bytes up to the limit landed
  EXPECT_EQ(w->Size(), 4);
  d.ClearFaults();
  ASSERT_OK(w->Write("e", 1));
  EXPECT_EQ(d.Object("/z"), "abcde");
}

}  // namespace
}  // namespace berth::testing_support

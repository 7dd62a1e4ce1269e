// LruMap (frontdoor/lru_map.h): bounded, least recently used out first.
#include "frontdoor/lru_map.h"

#include <gtest/gtest.h>

#include <string>

namespace tacc::frontdoor {
namespace {

struct IntHash {
  size_t operator()(int k) const { return static_cast<size_t>(k); }
};
using Map = LruMap<int, std::string, IntHash>;

TEST(FrontdoorLruMapTest, PutTouchPeekErase) {
  Map m(10);
  EXPECT_EQ(m.Touch(1), nullptr);
  m.Put(1, "one");
  m.Put(2, "two");
  ASSERT_NE(m.Peek(1), nullptr);
  EXPECT_EQ(*m.Peek(1), "one");
  m.Put(1, "uno");
  EXPECT_EQ(*m.Touch(1), "uno");
  EXPECT_EQ(m.size(), 2u);
  EXPECT_TRUE(m.Erase(1));
  EXPECT_FALSE(m.Erase(1));
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(m.Oldest()->key, 2);
  m.PopOldest();
  EXPECT_EQ(m.Oldest(), nullptr);
  m.PopOldest();  // empty: nothing happens
  EXPECT_EQ(m.size(), 0u);
}

TEST(FrontdoorLruMapTest, AtTheBoundTheLeastRecentlyUsedGoes) {
  Map m(3);
  m.Put(1, "a");
  m.Put(2, "b");
  m.Put(3, "c");
  m.Touch(1);  // order of use now 2, 3, 1
  m.Peek(2);   // a peek is not a use
  m.Put(4, "d");
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m.Peek(2), nullptr);
  EXPECT_EQ(m.Oldest()->key, 3);
  m.Put(3, "c2");  // replacing is a use
  m.Put(5, "e");
  EXPECT_EQ(m.Peek(1), nullptr);
  EXPECT_EQ(*m.Peek(3), "c2");
  EXPECT_EQ(*m.Peek(4), "d");
  EXPECT_EQ(*m.Peek(5), "e");
  // Many more keys through a full map: it stays at its bound and finds what it holds.
  for (int k = 100; k < 10000; ++k) {
    m.Put(k, std::to_string(k));
    ASSERT_EQ(m.size(), 3u);
    ASSERT_NE(m.Peek(k), nullptr);
  }
  EXPECT_EQ(*m.Peek(9998), "9998");
  EXPECT_EQ(m.Peek(9996), nullptr);
}

TEST(FrontdoorLruMapTest, ABoundOfZeroMeansOne) {
  Map m(0);
  m.Put(1, "a");
  m.Put(2, "b");
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(m.capacity(), 1u);
}

}  // namespace
}  // namespace tacc::frontdoor

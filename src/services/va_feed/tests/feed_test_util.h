// Test helpers for the feed: a software feed signer and message builders.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "crypto/sm2.h"
#include "services/va_feed/feed_message.h"

namespace gmpki::va_feed::testutil {

// A FeedSigner over an in-memory key (the business side uses DeviceFeedSigner).
inline FeedSigner SoftSigner() {
  auto kp = crypto::Sm2GenerateKeyPair();
  EXPECT_TRUE(kp.ok());
  auto key = std::make_shared<crypto::Sm2PrivateKey>(std::move(kp->private_key));
  FeedSigner s;
  s.public_key = kp->public_key;
  s.sign_digest = [key](ByteView e32) { return crypto::Sm2SignDigest(*key, e32); };
  return s;
}

inline va::StatusRecord Good(const std::string& ca, const std::string& serial,
                             std::int64_t not_after = 1900000000) {
  va::StatusRecord r;
  r.ca = ca;
  r.serial_hex = serial;
  r.not_after = not_after;
  return r;
}

inline va::StatusRecord Revoked(const std::string& ca, const std::string& serial, int reason = 1,
                                std::int64_t when = 1700000000) {
  va::StatusRecord r = Good(ca, serial);
  r.state = va::CertState::kRevoked;
  r.reason = reason;
  r.revoked_unix = when;
  return r;
}

inline FeedMessage Delta(std::int64_t base, std::int64_t seq,
                         std::vector<va::StatusRecord> statuses = {},
                         std::string source = "biz-node") {
  FeedMessage m;
  m.header.kind = MessageKind::kDelta;
  m.header.source = std::move(source);
  m.header.base = base;
  m.header.seq = seq;
  m.header.created_ms = 1700000000000;
  m.statuses = std::move(statuses);
  return m;
}

inline FeedMessage SnapshotPart(std::int64_t seq, std::int64_t created_ms, std::uint32_t part,
                                bool last, std::vector<va::StatusRecord> statuses = {},
                                std::string source = "biz-node") {
  FeedMessage m;
  m.header.kind = MessageKind::kSnapshot;
  m.header.source = std::move(source);
  m.header.seq = seq;
  m.header.created_ms = created_ms;
  m.header.part = part;
  m.header.last = last;
  m.statuses = std::move(statuses);
  return m;
}

inline std::string Sign(const FeedMessage& m, const FeedSigner& s) {
  auto w = EncodeSigned(m, s);
  EXPECT_TRUE(w.ok()) << w.error().ToString();
  return w.ok() ? *w : std::string();
}

// Flips one bit in the last byte of the body (inside the signed bytes, outside any length).
inline std::string TamperBody(std::string wire) {
  auto u32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(wire[at + i]);
    return static_cast<std::size_t>(v);
  };
  std::size_t header_len = u32(5);
  std::size_t body_at = 9 + header_len + 4;
  std::size_t body_len = u32(9 + header_len);
  wire[body_at + body_len - 1] ^= 0x01;
  return wire;
}

inline bool SameRecord(const va::StatusRecord& a, const va::StatusRecord& b) {
  return a.ca == b.ca && a.serial_hex == b.serial_hex && a.state == b.state &&
         a.reason == b.reason && a.revoked_unix == b.revoked_unix && a.not_after == b.not_after;
}

}  // namespace gmpki::va_feed::testutil

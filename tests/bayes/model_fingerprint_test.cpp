#include "engine/bayes/model_fingerprint.h"

#include <gtest/gtest.h>

#include "loaders/hf_config.h"

namespace vkmoe::bayes {
namespace {

ModelConfig qwen15() {
  return load_hf_config(std::string(VKMOE_SOURCE_DIR) + "/assets/configs/Qwen1.5-MoE-A2.7B");
}

TEST(ModelFingerprint, Fnv1a64KnownVectors) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ull);
  EXPECT_EQ(fnv1a64("bar", fnv1a64("foo")), fnv1a64("foobar"));  // continues
}

TEST(ModelFingerprint, SameConfigSameFingerprintAnyChangeAnother) {
  const ModelConfig base = qwen15();
  EXPECT_EQ(model_fingerprint(base), model_fingerprint(qwen15()));
  ModelConfig c = base;
  c.num_experts -= 1;
  EXPECT_NE(model_fingerprint(c), model_fingerprint(base));
  c = base;
  c.dtype = DType::kF16;
  EXPECT_NE(model_fingerprint(c), model_fingerprint(base));
  c = base;
  c.rope_theta *= 1.0000001;
  EXPECT_NE(model_fingerprint(c), model_fingerprint(base));
  const ModelConfig deepseek =
      load_hf_config(std::string(VKMOE_SOURCE_DIR) + "/assets/configs/deepseek-moe-16b-base");
  EXPECT_NE(model_fingerprint(deepseek), model_fingerprint(base));
}

TEST(ModelFingerprint, HexIsSixteenLowercaseDigits) {
  EXPECT_EQ(fingerprint_hex(0xabcull), "0000000000000abc");
  EXPECT_EQ(fingerprint_hex(0xcbf29ce484222325ull), "cbf29ce484222325");
}

}  // namespace
}  // namespace vkmoe::bayes

// Answer-label items as the Bayesian-MoE fit and its predictive read them (laplace_fit.h
// FitExample): the prompt every choice shares and the C label tokens scored after it. One
// conversion for `vkmoe laplace fit`, `vkmoe eval` and `vkmoe demo`, so the three agree on it.
#pragma once

#include <span>
#include <vector>

#include "engine/bayes/laplace_fit.h"
#include "engine/eval/choice_tokens.h"

namespace vkmoe::cli {

bayes::FitExample fit_example(const eval::TokenizedItem& item);
std::vector<bayes::FitExample> fit_examples(std::span<const eval::TokenizedItem> items);

}  // namespace vkmoe::cli

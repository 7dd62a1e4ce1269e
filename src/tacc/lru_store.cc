#include "tacc/lru_store.h"

namespace tacc::tacc_layer {

std::string_view PutResultName(PutResult result) {
  switch (result) {
    case PutResult::kStored:
      return "stored";
    case PutResult::kReplaced:
      return "replaced";
    case PutResult::kRefusedOverBudget:
      return "refused-over-budget";
    case PutResult::kRefusedOverEntryLimit:
      return "refused-over-entry-limit";
    case PutResult::kRefusedNull:
      return "refused-null";
  }
  return "unknown";
}

}  // namespace tacc::tacc_layer

// Integers read from a peer's JSON, without undefined behaviour.
//
// nlohmann::json's get<int>() (and value(), and get<std::vector<uint64_t>>())
// of a JSON number written with a fraction or an exponent, such as 1e300 or
// -1.5, is a C++ float-to-integer conversion: undefined behaviour when the
// value does not fit the type. Every integer that comes from a request or a
// bus message is checked with fitsJson<T>() before it is read; a float that
// fits is truncated as get<T>() always did. Pure; any thread.
#pragma once

#include <limits>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

namespace vcgate::bus {

template <class T>
struct IsJsonVector : std::false_type {};
template <class U, class A>
struct IsJsonVector<std::vector<U, A>> : std::true_type {};

// False when value.get<T>() would convert a float that T cannot hold. Other
// type mismatches are left to get<T>(), which throws json::type_error.
template <class T>
bool fitsJson(const nlohmann::json& value) {
  if constexpr (IsJsonVector<T>::value) {
    if (!value.is_array()) return true;
    for (const auto& item : value)
      if (!fitsJson<typename T::value_type>(item)) return false;
    return true;
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (!value.is_number_float()) return true;
    const double d = value.get<double>();
    // min() - 1 and max() + 1 are exact or round outwards; truncation toward
    // zero keeps every value strictly between them in range. NaN fails both.
    return d > static_cast<double>(std::numeric_limits<T>::min()) - 1.0 &&
           d < static_cast<double>(std::numeric_limits<T>::max()) + 1.0;
  } else {
    return true;
  }
}

}  // namespace vcgate::bus

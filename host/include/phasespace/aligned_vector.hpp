#pragma once
// std::vector whose storage comes from fftw_malloc, so FFTW plans made on one buffer can run
// (fftw_execute_dft) on any other buffer of the same shape: the alignment always matches.
#include <cstddef>
#include <new>
#include <vector>

namespace phasespace {

void* fftw_aligned_allocate(std::size_t bytes);
void fftw_aligned_free(void* pointer) noexcept;

template <class T>
struct FftwAllocator {
  using value_type = T;
  FftwAllocator() = default;
  template <class U>
  FftwAllocator(const FftwAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(fftw_aligned_allocate(n * sizeof(T))); }
  void deallocate(T* pointer, std::size_t) noexcept { fftw_aligned_free(pointer); }
  template <class U>
  bool operator==(const FftwAllocator<U>&) const noexcept { return true; }
};

template <class T>
using AlignedVector = std::vector<T, FftwAllocator<T>>;

}  // namespace phasespace

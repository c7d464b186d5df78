// Lowest eigenstates of the grid Hamiltonian with the split-step's spectral kinetic energy.
//
// Method, chosen by measurement (N = 2048, 40 orbitals, one core): dense LAPACK reduction to
// tridiagonal form (dsytrd) + MRRR (dstemr) for the eigenpairs + back-transformation (dormtr)
// takes 1.4 s with OpenBLAS (20 s with the reference BLAS) and gives eigenvalues to ~10·eps·‖H‖
// (the harmonic ħω(n + ½) to 7e-13 with ‖H‖ ≈ 200). Imaginary-time propagation converges like
// e^{-(E_K - E_{K-1}) τ/ħ} and carries the splitting error of its own step unless extrapolated,
// so round-off accuracy against the grid Hamiltonian would take thousands of FFT sweeps of all
// K orbitals plus re-orthogonalisation; the dense solver is simpler, exact and fast enough for
// grids of a few thousand points. The one O(N³) step is shared between the full spectrum (for
// choosing how many orbitals thermal occupations need) and the eigenvectors.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>

#include "phasespace/errors.hpp"
#include "phasespace/many_body.hpp"

extern "C" {
// Fortran LAPACK (reference or OpenBLAS), with gfortran's hidden string lengths.
void dsytrd_(const char* uplo, const int* n, double* a, const int* lda, double* d, double* e,
             double* tau, double* work, const int* lwork, int* info, std::size_t uplo_len);
void dstemr_(const char* jobz, const char* range, const int* n, double* d, double* e,
             const double* vl, const double* vu, const int* il, const int* iu, int* m, double* w,
             double* z, const int* ldz, const int* nzc, int* isuppz, int* tryrac, double* work,
             const int* lwork, int* iwork, const int* liwork, int* info, std::size_t jobz_len,
             std::size_t range_len);
void dormtr_(const char* side, const char* uplo, const char* trans, const int* m, const int* n,
             const double* a, const int* lda, const double* tau, double* c, const int* ldc,
             double* work, const int* lwork, int* info, std::size_t side_len, std::size_t uplo_len,
             std::size_t trans_len);
// OpenBLAS only (weak: absent with the reference BLAS). The reduction is memory-bound; on a
// shared machine extra BLAS threads measured 10x slower than one, so the solve runs on one.
int openblas_get_num_threads(void) __attribute__((weak));
void openblas_set_num_threads(int threads) __attribute__((weak));
}

namespace phasespace {

namespace {

void check_info(int info, const char* routine) {
  if (info != 0) {
    throw Error(std::string("eigenstates: LAPACK ") + routine + " failed with info = " +
                std::to_string(info));
  }
}

class SingleBlasThread {
 public:
  SingleBlasThread() {
    if (openblas_get_num_threads != nullptr && openblas_set_num_threads != nullptr) {
      previous_ = openblas_get_num_threads();
      openblas_set_num_threads(1);
    }
  }
  ~SingleBlasThread() {
    if (previous_ > 0) openblas_set_num_threads(previous_);
  }
  SingleBlasThread(const SingleBlasThread&) = delete;
  SingleBlasThread& operator=(const SingleBlasThread&) = delete;

 private:
  int previous_ = 0;
};

// dstemr on copies of the tridiagonal (it overwrites d and e).
int stemr(char jobz, int n, const std::vector<double>& d, const std::vector<double>& e, int count,
          std::vector<double>& w, std::vector<double>& z) {
  std::vector<double> dd(d), ee(e);
  ee.resize(static_cast<std::size_t>(n));
  const char range = jobz == 'N' ? 'A' : 'I';
  const double vl = 0.0, vu = 0.0;
  const int il = 1, iu = count;
  int m = 0, info = 0, tryrac = 1;
  const int ldz = jobz == 'N' ? 1 : n;
  const int nzc = jobz == 'N' ? 1 : count;
  std::vector<int> isuppz(2 * static_cast<std::size_t>(std::max(n, 1)));
  w.assign(static_cast<std::size_t>(n), 0.0);
  z.assign(jobz == 'N' ? 1 : static_cast<std::size_t>(n) * static_cast<std::size_t>(count), 0.0);
  double work_query = 0.0;
  int iwork_query = 0;
  const int query = -1;
  dstemr_(&jobz, &range, &n, dd.data(), ee.data(), &vl, &vu, &il, &iu, &m, w.data(), z.data(),
          &ldz, &nzc, isuppz.data(), &tryrac, &work_query, &query, &iwork_query, &query, &info, 1, 1);
  check_info(info, "dstemr (workspace query)");
  const int lwork = static_cast<int>(work_query), liwork = iwork_query;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  tryrac = 1;
  dstemr_(&jobz, &range, &n, dd.data(), ee.data(), &vl, &vu, &il, &iu, &m, w.data(), z.data(),
          &ldz, &nzc, isuppz.data(), &tryrac, work.data(), &lwork, iwork.data(), &liwork, &info, 1,
          1);
  check_info(info, "dstemr");
  return m;
}

}  // namespace

Orbitals grid_eigenstates_chosen(const Grid& grid, double hbar, double mass,
                                 std::span<const double> potential,
                                 const std::function<std::size_t(std::span<const double>)>& choose) {
  require(grid.size >= 2, "grid size", std::to_string(grid.size), "must be >= 2");
  require(potential.size() == grid.size, "potential samples", std::to_string(potential.size()),
          "must equal the grid size " + std::to_string(grid.size));
  require(hbar > 0.0 && mass > 0.0, "hbar, mass", format_number(hbar) + ", " + format_number(mass),
          "must be > 0");
  const std::size_t n = grid.size;
  const int ni = static_cast<int>(n);
  // Row of the circulant kinetic matrix: t[d] = (1/N) Σ_k p_k²/2m cos(2πkd/N), with the index
  // product reduced mod N first so the cosine's argument stays small.
  std::vector<double> kinetic(n);
  for (std::size_t k = 0; k < n; ++k) {
    const double p = grid.momentum(k, hbar);
    kinetic[k] = p * p / (2.0 * mass);
  }
  std::vector<double> row(n, 0.0);
  const double two_pi_over_n = 2.0 * std::numbers::pi / static_cast<double>(n);
  for (std::size_t d = 0; d < n; ++d) {
    double sum = 0.0;
    for (std::size_t k = 0; k < n; ++k) {
      sum += kinetic[k] * std::cos(two_pi_over_n * static_cast<double>((k * d) % n));
    }
    row[d] = sum / static_cast<double>(n);
  }
  std::vector<double> matrix(n * n);
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < n; ++i) matrix[i + j * n] = row[(i + n - j) % n];
    matrix[j + j * n] += potential[j];
  }

  SingleBlasThread single_thread;
  std::vector<double> d(n), e(n), tau(n);
  int info = 0;
  double work_query = 0.0;
  const int query = -1;
  dsytrd_("L", &ni, matrix.data(), &ni, d.data(), e.data(), tau.data(), &work_query, &query, &info, 1);
  check_info(info, "dsytrd (workspace query)");
  {
    const int lwork = static_cast<int>(work_query);
    std::vector<double> work(static_cast<std::size_t>(lwork));
    dsytrd_("L", &ni, matrix.data(), &ni, d.data(), e.data(), tau.data(), work.data(), &lwork,
            &info, 1);
    check_info(info, "dsytrd");
  }

  Orbitals orbitals;
  orbitals.grid = grid;
  std::vector<double> unused;
  stemr('N', ni, d, e, ni, orbitals.spectrum, unused);
  const std::size_t count = choose(orbitals.spectrum);
  require(count >= 1 && count <= n, "orbitals", std::to_string(count),
          "must be between 1 and the grid size " + std::to_string(n));
  std::vector<double> w, z;
  const int ki = static_cast<int>(count);
  const int found = stemr('V', ni, d, e, ki, w, z);
  require(found == ki, "orbitals", std::to_string(count),
          "LAPACK dstemr returned " + std::to_string(found) + " eigenvectors");
  // Back-transform with the Householder reflectors of dsytrd: z ← Q z.
  dormtr_("L", "L", "N", &ni, &ki, matrix.data(), &ni, tau.data(), z.data(), &ni, &work_query,
          &query, &info, 1, 1, 1);
  check_info(info, "dormtr (workspace query)");
  {
    const int lwork = static_cast<int>(work_query);
    std::vector<double> work(static_cast<std::size_t>(std::max(lwork, 1)));
    dormtr_("L", "L", "N", &ni, &ki, matrix.data(), &ni, tau.data(), z.data(), &ni, work.data(),
            &lwork, &info, 1, 1, 1);
    check_info(info, "dormtr");
  }
  orbitals.energies.assign(w.begin(), w.begin() + ki);
  orbitals.values.resize(count * n);
  const double scale = 1.0 / std::sqrt(grid.dx());
  for (std::size_t k = 0; k < count; ++k) {
    const double* column = z.data() + k * n;
    const auto largest = std::max_element(column, column + n, [](double a, double b) {
      return std::abs(a) < std::abs(b);
    });
    const double sign = *largest < 0.0 ? -1.0 : 1.0;
    for (std::size_t i = 0; i < n; ++i) orbitals.values[k * n + i] = sign * scale * column[i];
  }
  return orbitals;
}

Orbitals grid_eigenstates(const Grid& grid, double hbar, double mass,
                          std::span<const double> potential, std::size_t count) {
  return grid_eigenstates_chosen(grid, hbar, mass, potential,
                                 [count](std::span<const double>) { return count; });
}

}  // namespace phasespace

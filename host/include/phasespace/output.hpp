#pragma once
// Writing results so that an interrupted run never leaves a half-written file under a final
// name: everything is written to "<path>.tmp-<pid>" and renamed into place.
#include <complex>
#include <string>
#include <vector>

namespace phasespace {

void write_text_atomically(const std::string& path, const std::string& text);

// Fields of one ħ point, for fields/hbar_<i>.h5 (datasets x, x0, p, times, rho_quantum
// [time, x0, p], rho_classical [time, x0, p], and psi [time, x] complex (a compound of
// doubles "r", "i", as h5py reads complex numbers) when the state is pure).
struct FieldsRecord {
  double hbar = 0.0;
  std::vector<double> x;
  std::vector<double> x0;
  std::vector<double> p;
  std::vector<double> times;
  std::vector<double> rho_quantum;    // times·x0·p values
  std::vector<double> rho_classical;  // times·x0·p values
  std::vector<std::complex<double>> psi;  // times·x values, or empty for a mixed state
};
void write_fields_hdf5(const std::string& path, const FieldsRecord& record);
// Reads back what write_fields_hdf5 wrote (for tests and tools).
FieldsRecord read_fields_hdf5(const std::string& path);

}  // namespace phasespace

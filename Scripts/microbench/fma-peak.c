// Peak FMA throughput of one core (zmm and ymm), for comparison with the matrix kernel.
// Build and run: gcc -O2 -mavx512f -mfma Scripts/microbench/fma-peak.c -o /tmp/fma-peak && /tmp/fma-peak
// Measured 2026-11-26 on the project VM (Intel Xeon, 2 cores): zmm 151.9 GFLOP/s, ymm 69.2 GFLOP/s.
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
int main(){
  __m512 a[12]; __m512 b=_mm512_set1_ps(1.0000001f), c=_mm512_set1_ps(0.999999f);
  for(int i=0;i<12;i++) a[i]=_mm512_set1_ps(i);
  struct timespec t0,t1; clock_gettime(CLOCK_MONOTONIC,&t0);
  long n=200000000;
  for(long k=0;k<n;k++){
    #pragma GCC unroll 12
    for(int i=0;i<12;i++) a[i]=_mm512_fmadd_ps(a[i],b,c);
  }
  clock_gettime(CLOCK_MONOTONIC,&t1);
  double s=(t1.tv_sec-t0.tv_sec)+1e-9*(t1.tv_nsec-t0.tv_nsec);
  float r=0; for(int i=0;i<12;i++) r+=_mm512_reduce_add_ps(a[i]);
  printf("zmm: %.1f GFLOP/s (%f)\n", n*12.0*32/s/1e9, r);
  __m256 x[12]; __m256 y=_mm256_set1_ps(1.0000001f), z=_mm256_set1_ps(0.999999f);
  for(int i=0;i<12;i++) x[i]=_mm256_set1_ps(i);
  clock_gettime(CLOCK_MONOTONIC,&t0);
  for(long k=0;k<n;k++){
    #pragma GCC unroll 12
    for(int i=0;i<12;i++) x[i]=_mm256_fmadd_ps(x[i],y,z);
  }
  clock_gettime(CLOCK_MONOTONIC,&t1);
  s=(t1.tv_sec-t0.tv_sec)+1e-9*(t1.tv_nsec-t0.tv_nsec);
  r=0; float tmp[8]; for(int i=0;i<12;i++){_mm256_storeu_ps(tmp,x[i]); for(int j=0;j<8;j++) r+=tmp[j];}
  printf("ymm: %.1f GFLOP/s (%f)\n", n*12.0*16/s/1e9, r);
}

// The Q8_0 4-rows x 4-inputs decode-and-FMA loop of MatrixKernel (fusedFourByFour) in C, single
// thread, over a synthetic 262144 x 640 matrix (the output layer's shape): shows the ceiling of this
// loop structure on the machine, independent of Swift code generation.
// Build and run: gcc -O3 -march=native Scripts/microbench/q8-four-by-four.c -o /tmp/q8 -lm && /tmp/q8 1
// (argument: 1 = prefetch 16 rows ahead as the Swift kernel does, 0 = none).
// Measured 2026-11-26 on the project VM: 23.4-27.5 G multiply-adds/s (the Swift kernel: 24.6 with
// `ppd bench-kernels --inputs 4 --threads 1`). With ROWS 2048 (fits in L2): 27.3-27.9.
#include <math.h>
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#define ROWS 262144
#define COLS 640
#define BB 34
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
int main(int argc,char**argv){
  int prefetch=argc>1?atoi(argv[1]):1;
  size_t rowBytes=COLS/32*BB;
  uint8_t*w=aligned_alloc(64,rowBytes*ROWS+4096);
  for(size_t i=0;i<rowBytes*ROWS;i++) w[i]=(uint8_t)(i*2654435761u>>13);
  for(size_t r=0;r<ROWS;r++) for(int b=0;b<COLS/32;b++){ uint16_t h=0x2c00; memcpy(w+r*rowBytes+b*BB,&h,2);}
  float*x=aligned_alloc(64,4*COLS*4); for(int i=0;i<4*COLS;i++) x[i]=sinf(i*0.37f);
  float*y=malloc(4*ROWS*4);
  for(int rep=0;rep<3;rep++){
  double t0=now();
  for(size_t r=0;r<ROWS;r+=4){
    __m512 acc[4][4]; for(int i=0;i<4;i++)for(int j=0;j<4;j++)acc[i][j]=_mm512_setzero_ps();
    const uint8_t*base=w+r*rowBytes;
    for(int b=0;b<COLS/32;b++){
      const uint8_t*o=base+b*BB;
      if(prefetch) for(int i=0;i<4;i++) _mm_prefetch((const char*)(o+(i+16)*rowBytes),_MM_HINT_T0);
      __m512 s[4];
      for(int i=0;i<4;i++){ uint16_t h; memcpy(&h,o+i*rowBytes,2); s[i]=_mm512_set1_ps(_cvtsh_ss(h)); }
      for(int g=0;g<2;g++){
        __m512 v[4]; for(int j=0;j<4;j++) v[j]=_mm512_loadu_ps(x+j*COLS+b*32+g*16);
        for(int i=0;i<4;i++){
          __m512 wf=_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(o+i*rowBytes+2+16*g)))),s[i]);
          for(int j=0;j<4;j++) acc[i][j]=_mm512_fmadd_ps(wf,v[j],acc[i][j]);
        }
      }
    }
    for(int i=0;i<4;i++)for(int j=0;j<4;j++) y[j*ROWS+r+i]=_mm512_reduce_add_ps(acc[i][j]);
  }
  double t=now()-t0;
  printf("prefetch %d: %.2f ms, %.1f GMAC/s\n",prefetch,t*1e3,(double)ROWS*COLS*4/t/1e9);
  }
  return (int)y[5];
}

// Peak throughput of fp32 FMA, int8 VNNI (vpdpbusd) and bf16 dot products on 1 and 2 threads,
// 12 independent register accumulators each: the ceilings of the float32 and int8 kernels.
// Build and run: gcc -O3 -funroll-all-loops -march=sapphirerapids Scripts/microbench/vnni-peak.c -o /tmp/vnni-peak -lpthread && /tmp/vnni-peak
// Measured 2026-11-27 01:00 UTC on the project VM (Intel Xeon, 2 cores): fma 66.5 / 125.6 G MAC/s,
// vnni 181.6 / 407.5 G MAC/s, bf16 36.4 / 69.3 G MAC/s (1 / 2 threads).
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
#include <pthread.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
#define N 200000000L
void* fmarun(void*p){
 __m512 a[12]; for(int i=0;i<12;i++)a[i]=_mm512_set1_ps(i*1e-9f);
 __m512 x=_mm512_set1_ps(1.0000001f), y=_mm512_set1_ps(0.9999f);
 for(long k=0;k<N/12/16;k++){
  for(int i=0;i<12;i++) a[i]=_mm512_fmadd_ps(x,y,a[i]);
 }
 float s=0; for(int i=0;i<12;i++) s+=_mm512_reduce_add_ps(a[i]); *(float*)p=s; return 0;}
void* vnnirun(void*p){
 __m512i a[12]; for(int i=0;i<12;i++)a[i]=_mm512_set1_epi32(i);
 __m512i x=_mm512_set1_epi8(3), y=_mm512_set1_epi8(5);
 for(long k=0;k<N/12/64;k++){
  for(int i=0;i<12;i++) a[i]=_mm512_dpbusd_epi32(a[i],x,y);
 }
 int s=0; for(int i=0;i<12;i++) s+=_mm512_reduce_add_epi32(a[i]); *(int*)p=s; return 0;}
void* bfrun(void*p){
 __m512 a[12]; for(int i=0;i<12;i++)a[i]=_mm512_set1_ps(i);
 __m512bh x=(__m512bh)_mm512_set1_epi16(0x3f80), y=(__m512bh)_mm512_set1_epi16(0x3f80);
 for(long k=0;k<N/12/32;k++){
  for(int i=0;i<12;i++) a[i]=_mm512_dpbf16_ps(a[i],x,y);
 }
 float s=0; for(int i=0;i<12;i++) s+=_mm512_reduce_add_ps(a[i]); *(float*)p=s; return 0;}
int main(){
 void*(*fs[3])(void*)={fmarun,vnnirun,bfrun}; const char*nm[3]={"fma","vnni","bf16"};
 for(int f=0;f<3;f++) for(int th=1;th<=2;th++){
  pthread_t t[2]; float r[2]; double t0=now();
  for(int i=0;i<th;i++) pthread_create(&t[i],0,fs[f],&r[i]);
  for(int i=0;i<th;i++) pthread_join(t[i],0);
  double dt=now()-t0; printf("%s threads %d: %.1f G MAC/s\n",nm[f],th,th*N/dt/1e9);
 }}

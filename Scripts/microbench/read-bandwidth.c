// Memory read bandwidth: a 400 MiB buffer summed with 512-bit loads on 1 and 2 threads, 3 times.
// Build and run: gcc -O3 -march=sapphirerapids Scripts/microbench/read-bandwidth.c -o /tmp/read-bw -lpthread && /tmp/read-bw
// Measured 2026-11-27 01:10 UTC on the project VM: 10.1-10.9 GB/s on 1 thread, 14.2-18.9 GB/s on 2.
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <pthread.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
size_t N=400<<20; char*buf;
typedef struct{size_t a,b;long s;}arg;
void*rd(void*p){arg*a=p; __m512i acc=_mm512_setzero_si512(); for(size_t i=a->a;i<a->b;i+=64) acc=_mm512_add_epi64(acc,_mm512_load_si512(buf+i)); a->s=_mm512_reduce_add_epi64(acc); return 0;}
int main(){ buf=aligned_alloc(64,N); for(size_t i=0;i<N;i++)buf[i]=i;
 for(int rep=0;rep<3;rep++) for(int th=1;th<=2;th++){ pthread_t t[2]; arg a[2]; double t0=now();
  for(int i=0;i<th;i++){a[i].a=N/th*i;a[i].b=N/th*(i+1);pthread_create(&t[i],0,rd,&a[i]);}
  for(int i=0;i<th;i++)pthread_join(t[i],0); double dt=now()-t0; printf("threads %d: %.1f GB/s\n",th,N/dt/1e9);}
}

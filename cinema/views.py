from django.shortcuts import get_object_or_404, render

from cinema.models import Movie
from cinema.selectors import now_showing, showtimes_by_day


def home(request):
    return render(request, "cinema/home.html", {"movies": now_showing()})


def movie_detail(request, slug: str):
    movie = get_object_or_404(Movie.objects.prefetch_related("genres"), slug=slug)
    return render(
        request,
        "cinema/movie.html",
        {"movie": movie, "days": showtimes_by_day(movie=movie)},
    )

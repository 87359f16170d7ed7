from django.urls import path

from cinema import views

app_name = "cinema"
urlpatterns = [
    path("", views.home, name="home"),
    path("movies/<slug:slug>/", views.movie_detail, name="movie"),
    path("visit/", views.venue, name="venue"),
]

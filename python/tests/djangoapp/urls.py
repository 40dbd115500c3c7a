from django.urls import path

from . import views

urlpatterns = [
    path('hello/', views.hello),
    path('private/', views.private),
    path('page/', views.page),
    path('page-other/', views.page_other),
    path('fragment/', views.fragment),
    path('incr/', views.incr),
    path('square/<int:n>/', views.square),
    path('pid/', views.pid),
]

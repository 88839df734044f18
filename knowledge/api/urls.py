from django.urls import path

from knowledge.api import views

urlpatterns = [
    path("knowledge/answer/", views.AnswerView.as_view(), name="knowledge-answer"),
    path("knowledge/articles/", views.ArticleListView.as_view(), name="knowledge-articles"),
    path("knowledge/articles/<slug:slug>/", views.ArticleDetailView.as_view(), name="knowledge-article"),
    path("knowledge/deflection/", views.DeflectionView.as_view(), name="knowledge-deflection"),
]

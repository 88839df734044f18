from django.urls import path

from knowledge import help_views as help
from knowledge import views

# /help/: the contact form and the follow page first, then the help centre, whose sections
# take the remaining first-level addresses (knowledge.models.RESERVED_SLUGS keeps these free).
urlpatterns = [
    path("contact/", views.ContactView.as_view(), name="contact"),
    path("follow/<str:token>/", views.FollowView.as_view(), name="follow"),
    path("", help.HelpHome.as_view(), name="help"),
    path("search/", help.HelpSearch.as_view(), name="help-search"),
    path("deflect/questions/", help.GuideQuestions.as_view(), name="help-guide"),
    path("deflect/suggest/", help.Suggestions.as_view(), name="help-suggest"),
    path("deflect/solved/", help.Solved.as_view(), name="help-solved"),
    path("<slug:category>/", help.HelpCategoryView.as_view(), name="help-category"),
    path("<slug:category>/<slug:slug>/", help.HelpArticle.as_view(), name="help-article"),
    path("<slug:category>/<slug:slug>/feedback/", help.HelpFeedback.as_view(), name="help-feedback"),
]

# /panel/help/: the same help centre inside the control panel.
panel_patterns = [
    path("", help.PanelHelpHome.as_view(), name="panel-help"),
    path("search/", help.PanelHelpSearch.as_view(), name="panel-help-search"),
    path("<slug:category>/", help.PanelHelpCategory.as_view(), name="panel-help-category"),
    path("<slug:category>/<slug:slug>/", help.PanelHelpArticle.as_view(), name="panel-help-article"),
    path("<slug:category>/<slug:slug>/feedback/", help.PanelHelpFeedback.as_view(), name="panel-help-feedback"),
]

# /desk/help/: with internal articles, and the pages of the people who keep the guides.
desk_patterns = [
    path("", help.DeskHelpHome.as_view(), name="desk-help"),
    path("search/", help.DeskHelpSearch.as_view(), name="desk-help-search"),
    path("articles/", help.DeskArticleList.as_view(), name="desk-help-articles"),
    path("articles/new/", help.DeskArticleEdit.as_view(), name="desk-help-article-new"),
    path("articles/<int:pk>/", help.DeskArticleEdit.as_view(), name="desk-help-article-edit"),
    path("articles/<int:pk>/history/", help.DeskArticleHistory.as_view(), name="desk-help-article-history"),
    path(
        "articles/<int:pk>/restore/<int:number>/",
        help.DeskArticleRestore.as_view(),
        name="desk-help-article-restore",
    ),
    path("feedback/", help.DeskHelpReport.as_view(), name="desk-help-report"),
    path("ticket-search/", help.DeskTicketHelpSearch.as_view(), name="desk-help-ticket-search"),
    path("ticket/<int:number>/answered/", help.DeskTicketMarkAnswered.as_view(), name="desk-help-ticket-mark"),
    path("<slug:category>/", help.DeskHelpCategory.as_view(), name="desk-help-category"),
    path("<slug:category>/<slug:slug>/", help.DeskHelpArticle.as_view(), name="desk-help-article"),
    path("<slug:category>/<slug:slug>/feedback/", help.DeskHelpFeedback.as_view(), name="desk-help-feedback"),
]
